/**
 * Dataset identity as a service: content hashes of the files stages read,
 * memoized by size and mtime in the store's `memo/digests.json`.
 */
import { Context, Effect, Layer } from "effect"
import { makeJsonMemo } from "../cache/jsonMemo.ts"
import { identifyPaths, type DatasetIdentityError, type DigestMemo, type FileDigest } from "../cache/fileIdentity.ts"

export interface DatasetIdentityShape {
  readonly identify: (paths: ReadonlyArray<string>) => Effect.Effect<string, DatasetIdentityError>
  readonly flush: Effect.Effect<void>
}

export class DatasetIdentity extends Context.Service<DatasetIdentity, DatasetIdentityShape>()("ssl-kd/DatasetIdentity") {}

export const makeDatasetIdentity = (memoFile: string | undefined): DatasetIdentityShape => {
  const memo = makeJsonMemo<FileDigest>(memoFile)
  const digests: DigestMemo = { get: memo.get, set: memo.set }
  return { identify: (paths) => identifyPaths(paths, digests), flush: memo.flush }
}

export const layer = (memoFile: string | undefined): Layer.Layer<DatasetIdentity> =>
  Layer.sync(DatasetIdentity, () => makeDatasetIdentity(memoFile))
