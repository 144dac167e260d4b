/**
 * Datasets as the teacher stages name them: a registry name, a split and how
 * many examples (the first N; 0 = all). `datasetReads` lists the files for
 * the cache key (content hash), a pure function of the config.
 */
import { Effect } from "effect"
import { makeDefaultRegistry } from "../../datasets/builtins.ts"
import type { ImageSet } from "../../datasets/ImageSet.ts"
import type { DatasetSpec, Split } from "../../datasets/spec.ts"
import { firstN } from "../../datasets/subset.ts"

/** Files a split reads (empty when the name does not resolve: the stage then fails with the registry's error). */
export const splitFiles = (dataset: string, split: Split): ReadonlyArray<string> =>
  Effect.runSync(
    Effect.gen(function* () {
      const registry = makeDefaultRegistry()
      const spec = yield* registry.resolve(dataset, { split })
      return yield* registry.files(spec)
    }).pipe(Effect.orElseSucceed((): ReadonlyArray<string> => [])),
  )

/** A split of a dataset, cut to its first `count` examples (0: all), with its spec. */
export const loadSplit = (dataset: string, split: Split, count: number) =>
  Effect.gen(function* () {
    const registry = makeDefaultRegistry()
    const spec: DatasetSpec = yield* registry.resolve(dataset, { split })
    const full = yield* registry.load(spec)
    const set: ImageSet = count === 0 || count >= full.count ? full : yield* firstN(full, count)
    return { spec, set }
  })
