/**
 * Dataset identity for cache keys: the content hash of the files a spec reads
 * (`identifyPaths`, memoized by size and mtime) combined with the spec's
 * reading parameters. The dataset's location (`path`) is left out, so moving
 * a dataset folder keeps its identity; replacing a file changes it.
 */
import { createHash } from "node:crypto"
import { Effect } from "effect"
import { type DatasetIdentityError, type DigestMemo, emptyMemo, identifyPaths } from "../../runtime/cache/fileIdentity.ts"
import { canonicalJson } from "../../runtime/cache/hash.ts"
import type { UnknownNameError } from "../../dsl/errors.ts"
import type { DatasetRegistry } from "./registry.ts"
import type { DatasetSpec } from "./spec.ts"

/** sha256 identity of the split `spec` describes (content + reading parameters). */
export const datasetIdentity = (
  registry: DatasetRegistry,
  spec: DatasetSpec,
  memo: DigestMemo = emptyMemo(),
): Effect.Effect<string, UnknownNameError | DatasetIdentityError> =>
  Effect.gen(function* () {
    const files = yield* registry.files(spec)
    const content = files.length === 0 ? "" : yield* identifyPaths(files, memo)
    const { path: _location, ...params } = spec
    return createHash("sha256").update(canonicalJson(params)).update("\u0000").update(content).digest("hex")
  })
