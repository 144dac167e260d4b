/**
 * Subsets of an ImageSet for presets: the first N examples, or N per class
 * (stratified; the first N of each class in file order, or a seeded random N).
 * Subsets copy their pixels, so the full set can be dropped afterwards.
 */
import { Data, Effect } from "effect"
import { imageBytes, type ImageSet } from "./ImageSet.ts"
import { Rng } from "./prng.ts"

/** A subset that asks for more examples than a class or the set holds. */
export class SubsetSizeError extends Data.TaggedError("SubsetSizeError")<{
  readonly dataset: string
  readonly requested: number
  readonly available: number
  readonly className: string | undefined
}> {
  override get message() {
    const where = this.className === undefined ? "" : ` of class "${this.className}"`
    return `dataset ${this.dataset}: subset asks for ${this.requested} examples${where}, only ${this.available} exist; lower the subset size`
  }
}

/** The examples at `indices`, in that order. */
export const pick = (set: ImageSet, indices: ArrayLike<number>): ImageSet => {
  const per = imageBytes(set)
  const images = new Uint8Array(indices.length * per)
  const labels = new Int32Array(indices.length)
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k] as number
    images.set(set.images.subarray(i * per, (i + 1) * per), k * per)
    labels[k] = set.labels[i] as number
  }
  return { ...set, images, labels, count: indices.length }
}

/** The first `n` examples. */
export const firstN = (set: ImageSet, n: number): Effect.Effect<ImageSet, SubsetSizeError> =>
  !Number.isInteger(n) || n < 0 || n > set.count
    ? Effect.fail(new SubsetSizeError({ dataset: set.name, requested: n, available: set.count, className: undefined }))
    : Effect.succeed(pick(set, Int32Array.from({ length: n }, (_, i) => i)))

/**
 * `perClass` examples of every class, grouped in file order (class-interleaved
 * order is the loader's job). With a `seed`, a seeded random choice within each
 * class; without, the first `perClass` of each class.
 */
export const stratified = (set: ImageSet, perClass: number, seed?: number): Effect.Effect<ImageSet, SubsetSizeError> =>
  Effect.gen(function* () {
    const byClass: Array<Array<number>> = set.classes.map(() => [])
    for (let i = 0; i < set.count; i++) byClass[set.labels[i] as number]?.push(i)
    const chosen: Array<number> = []
    for (const [c, members] of byClass.entries()) {
      if (!Number.isInteger(perClass) || perClass < 0 || members.length < perClass)
        return yield* new SubsetSizeError({ dataset: set.name, requested: perClass, available: members.length, className: set.classes[c] })
      const ids = Int32Array.from(members)
      if (seed !== undefined) Rng.derive(seed, c, 0x57a7).shuffle(ids)
      chosen.push(...ids.subarray(0, perClass))
    }
    return pick(set, Int32Array.from(chosen.sort((a, b) => a - b)))
  })
