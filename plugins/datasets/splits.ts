/**
 * Datasets as the stages name them: a registry name, a split and how
 * many examples (the first N; 0 = all). `splitFiles` lists the files for
 * the cache key (content hash), a pure function of the config; `loadSplit`
 * reads them. Both resolve names in the `Datasets` registry service (`splitFiles`,
 * which runs while planning, outside any stage, in its default).
 * `loadSplit` always holds the split in memory; the stages that iterate
 * batches call `openSplit` (`source.ts`) instead, which streams a split
 * whose reader streams and otherwise calls `loadSplit`.
 */
import { Effect } from "effect"
import { Datasets } from "./builtins.ts"
import type { ImageSet } from "./ImageSet.ts"
import type { DatasetSpec, Split } from "./spec.ts"
import { firstN } from "./subset.ts"

/** Files a split reads (empty when the name does not resolve: the stage then fails with the registry's error). */
export const splitFiles = (dataset: string, split: Split): ReadonlyArray<string> =>
  Effect.runSync(
    Effect.gen(function* () {
      const registry = yield* Datasets
      const spec = yield* registry.resolve(dataset, { split })
      return yield* registry.files(spec)
    }).pipe(Effect.orElseSucceed((): ReadonlyArray<string> => [])),
  )

/** A split of a dataset, cut to its first `count` examples (0: all), with its spec. */
export const loadSplit = (dataset: string, split: Split, count: number) =>
  Effect.gen(function* () {
    const registry = yield* Datasets
    const spec: DatasetSpec = yield* registry.resolve(dataset, { split })
    const full = yield* registry.load(spec)
    const set: ImageSet = count === 0 || count >= full.count ? full : yield* firstN(full, count)
    return { spec, set }
  })
