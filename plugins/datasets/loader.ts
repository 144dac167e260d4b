/**
 * Batching: shuffled (seeded, per epoch), augmented batches of plain typed
 * arrays (Float32Array NCHW views, Int32Array labels), produced ahead of the
 * consumer by an async iterator with a bounded prefetch depth.
 *
 * Determinism: epoch e's order is a permutation drawn from (seed, e); example
 * i's augmentation in epoch e uses the stream (seed, e, i). So the same seed
 * gives the same batches bit for bit, whatever the prefetch depth, and a
 * batch can be recomputed on its own (`loader.batch(e, b)`).
 *
 * @example
 * const loader = yield* makeLoader(set, { batchSize: 64, normalization: spec.normalization, augmentation: randomCrop({ size: 28 }) })
 * for await (const batch of loader.epoch(0)) train(batch.images.data, batch.labels)
 */
import { Data, Effect } from "effect"
import {
  type Augmentation,
  type AugmentationConfigError,
  compileAugmentation,
  resize,
  type ViewShape,
} from "./augment/augmentation.ts"
import type { ImageSet } from "./ImageSet.ts"
import { prefetch } from "./internal/prefetch.ts"
import { Rng } from "./prng.ts"
import type { Normalization } from "./spec.ts"

/** One batch of images (NCHW floats) and its shape. */
export interface ImageBatch {
  readonly data: Float32Array
  readonly shape: readonly [n: number, c: number, h: number, w: number]
}

/** MAE patch masks of a batch: `mask[b * numPatches + p]` is 1 when masked; `keep` lists kept patches per image, ascending. */
export interface PatchMask {
  readonly mask: Uint8Array
  readonly keep: Int32Array
  readonly patchSize: number
  readonly numPatches: number
  readonly numMasked: number
}

/** A batch: the views the augmentation makes (`images` is view 0), labels and source indices. */
export interface Batch {
  readonly epoch: number
  readonly index: number
  readonly images: ImageBatch
  readonly views: ReadonlyArray<ImageBatch>
  readonly labels: Int32Array
  /** Example indices in the source ImageSet. */
  readonly indices: Int32Array
  readonly mask: PatchMask | undefined
}

/** Loader settings. */
export interface LoaderOptions {
  readonly batchSize: number
  /** The dataset's normalization (`spec.normalization`). */
  readonly normalization: Normalization
  /** Default: `resize()` (the whole image, no randomness). */
  readonly augmentation?: Augmentation
  readonly seed?: number
  /** Shuffle each epoch (default true). */
  readonly shuffle?: boolean
  /** Drop a last, smaller batch (default false). */
  readonly dropLast?: boolean
  /** Batches produced ahead of the consumer (default 2). */
  readonly prefetch?: number
}

/** A loader setting outside its domain. */
export class LoaderConfigError extends Data.TaggedError("LoaderConfigError")<{
  readonly field: string
  readonly value: string
  readonly expected: string
}> {
  override get message() {
    return `loader option "${this.field}" is ${this.value}, expected ${this.expected}`
  }
}

/** Batches over one ImageSet. */
export interface Loader {
  readonly batchesPerEpoch: number
  readonly views: ReadonlyArray<ViewShape>
  /** Batch `b` of epoch `e`, computed synchronously. */
  readonly batch: (epoch: number, b: number) => Batch
  /** All batches of epoch `e`, prefetched. */
  readonly epoch: (epoch: number) => AsyncIterableIterator<Batch>
}

const SHUFFLE_STREAM = 0x5eed
const AUGMENT_STREAM = 0xa06

/** Builds a loader; invalid settings fail with a typed error naming the setting. */
export const makeLoader = (
  set: ImageSet,
  o: LoaderOptions,
): Effect.Effect<Loader, LoaderConfigError | AugmentationConfigError> =>
  Effect.gen(function* () {
    const bad = (field: string, value: unknown, expected: string) =>
      new LoaderConfigError({ field, value: JSON.stringify(value), expected })
    if (!Number.isInteger(o.batchSize) || o.batchSize < 1) return yield* bad("batchSize", o.batchSize, "a positive integer")
    const depth = o.prefetch ?? 2
    if (!Number.isInteger(depth) || depth < 1 || depth > 64) return yield* bad("prefetch", depth, "an integer in 1..64")
    const seed = o.seed ?? 0
    if (!Number.isSafeInteger(seed)) return yield* bad("seed", seed, "a safe integer")
    if (o.normalization.mean.length !== set.channels || o.normalization.std.length !== set.channels)
      return yield* bad("normalization", o.normalization, `one mean and std per channel (${set.channels})`)
    const aug = yield* compileAugmentation(o.augmentation ?? resize(), set, o.normalization)
    const shuffle = o.shuffle ?? true
    const full = Math.floor(set.count / o.batchSize)
    const batchesPerEpoch = o.dropLast === true || set.count % o.batchSize === 0 ? full : full + 1
    let cached: { readonly epoch: number; readonly order: Int32Array } | undefined
    const orderOf = (epoch: number): Int32Array => {
      if (cached?.epoch === epoch) return cached.order
      const order = new Int32Array(set.count)
      for (let i = 0; i < set.count; i++) order[i] = i
      if (shuffle) Rng.derive(seed, epoch, SHUFFLE_STREAM).shuffle(order)
      cached = { epoch, order }
      return order
    }
    const batch = (epoch: number, b: number): Batch => {
      const order = orderOf(epoch)
      const start = b * o.batchSize
      const n = Math.min(o.batchSize, set.count - start)
      const indices = order.slice(start, start + n)
      const labels = new Int32Array(n)
      const views = aug.views.map((v) => new Float32Array(n * v.channels * v.height * v.width))
      const m = aug.mask
      const mask = m === undefined ? undefined : new Uint8Array(n * m.numPatches)
      const keep = m === undefined ? undefined : new Int32Array(n * (m.numPatches - m.numMasked))
      const out = { views, mask, keep }
      for (let k = 0; k < n; k++) {
        const i = indices[k] as number
        labels[k] = set.labels[i] as number
        aug.apply(set, i, Rng.derive(seed, epoch, i, AUGMENT_STREAM), out, k)
      }
      const imageViews = aug.views.map((v, j): ImageBatch => ({
        data: views[j] as Float32Array,
        shape: [n, v.channels, v.height, v.width],
      }))
      return {
        epoch,
        index: b,
        images: imageViews[0] as ImageBatch,
        views: imageViews,
        labels,
        indices,
        mask: m === undefined ? undefined : { mask: mask as Uint8Array, keep: keep as Int32Array, ...m },
      }
    }
    return {
      batchesPerEpoch,
      views: aug.views,
      batch,
      epoch: (epoch) => prefetch(batchesPerEpoch, depth, (b) => batch(epoch, b)),
    }
  })
