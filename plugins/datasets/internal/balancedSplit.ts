/**
 * Seeded, class-balanced train/test splits for datasets that ship as one
 * pool (a digit sheet, a folder of clip-art, texture photographs): within
 * each class the pool's indices are shuffled by `Rng.derive(seed, class,
 * 0x5b17)`, the first `trainPerClass` form the train split and the next
 * `testPerClass` the test split; the result interleaves the classes (the
 * first chosen of every class in class order, then the second, ...), so the
 * first N examples of a split (`firstN`, a preset's `trainCount`) stay
 * balanced. The two splits are disjoint by construction
 * and depend only on (pool order, seed, counts), which the spec's options
 * record, so the dataset identity (cache keys) changes when any of them does.
 */
import { Effect } from "effect"
import { DatasetSpecError } from "../errors.ts"
import { Rng } from "../prng.ts"
import type { Split } from "../spec.ts"

/** The counts and seed of a balanced split (reader options). */
export interface BalancedSplitOptions {
  readonly seed: number
  readonly trainPerClass: number
  readonly testPerClass: number
}

/** Pool indices of `split`, classes interleaved; fails naming a class with too few members. */
export const balancedSplit = (
  dataset: string,
  labels: ArrayLike<number>,
  classes: ReadonlyArray<string>,
  split: Split,
  o: BalancedSplitOptions,
): Effect.Effect<Int32Array, DatasetSpecError> =>
  Effect.gen(function* () {
    const byClass: Array<Array<number>> = classes.map(() => [])
    for (let i = 0; i < labels.length; i++) byClass[labels[i] as number]?.push(i)
    const need = o.trainPerClass + o.testPerClass
    const perClass: Array<Array<number>> = []
    for (const [c, members] of byClass.entries()) {
      if (members.length < need)
        return yield* new DatasetSpecError({
          dataset,
          field: "options.trainPerClass + options.testPerClass",
          value: String(need),
          expected: `at most ${members.length} (the images of class "${classes[c]}")`,
        })
      const ids = Rng.derive(o.seed, c, 0x5b17).shuffle(Int32Array.from(members))
      const part = split === "train" ? ids.subarray(0, o.trainPerClass) : ids.subarray(o.trainPerClass, need)
      perClass.push(Array.from(part).sort((a, b) => a - b))
    }
    const chosen: Array<number> = []
    const count = split === "train" ? o.trainPerClass : o.testPerClass
    for (let k = 0; k < count; k++) for (const members of perClass) chosen.push(members[k] as number)
    return Int32Array.from(chosen)
  })
