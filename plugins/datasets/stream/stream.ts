/**
 * Streaming batches from an ImageNet-layout index: decode, random resized
 * crop and flip (train) or resize + centre crop (eval) in worker threads
 * (`pool.ts`), normalized into NCHW float batches on the main thread.
 *
 * Order: a permutation drawn from (seed, epoch) for `train`, file order for
 * `eval`. At most `prefetch` batches are in flight beyond the one being
 * consumed, so memory is bounded by `(prefetch + 1) x batch` images whatever
 * the dataset size (the index holds names only). The same seed gives the same
 * batches whatever the number of workers. A file that does not decode makes
 * `next()` reject with an `ImageDecodeError` naming it.
 */
import { ImageDecodeError } from "../errors.ts"
import { prefetch } from "../internal/prefetch.ts"
import { Rng } from "../prng.ts"
import type { Normalization } from "../spec.ts"
import type { FolderIndex } from "./folderIndex.ts"
import type { DecodePool } from "./pool.ts"

export interface StreamOptions {
  readonly batchSize: number
  readonly size: number
  readonly channels: 1 | 3
  readonly mode: "train" | "eval"
  readonly normalization: Normalization
  readonly seed?: number
  /** Batches decoded ahead of the consumer (default 2). */
  readonly prefetch?: number
  /** RandomResizedCrop scale / ratio (timm defaults (0.08, 1), (3/4, 4/3)). */
  readonly scale?: readonly [number, number]
  readonly ratio?: readonly [number, number]
  /** Train: probability of a horizontal flip (default 0.5). */
  readonly flip?: number
  /** Eval: resize the shorter side to size / cropPct, then centre-crop (default 0.875). */
  readonly cropPct?: number
  /** Keep the last, smaller batch (default true for eval, false for train). */
  readonly keepLast?: boolean
}

/** One streamed batch. */
export interface StreamBatch {
  readonly index: number
  readonly images: Float32Array
  readonly shape: readonly [number, number, number, number]
  readonly labels: Int32Array
  /** Positions in the index. */
  readonly indices: Int32Array
}

/** Number of batches an epoch has. */
export const batchesPerEpoch = (index: FolderIndex, o: Pick<StreamOptions, "batchSize" | "mode" | "keepLast">): number => {
  const keepLast = o.keepLast ?? o.mode === "eval"
  return keepLast ? Math.ceil(index.files.length / o.batchSize) : Math.floor(index.files.length / o.batchSize)
}

/** The batches of one epoch, decoded by `pool` ahead of the consumer. */
export const streamEpoch = (index: FolderIndex, pool: DecodePool, epoch: number, o: StreamOptions): AsyncIterableIterator<StreamBatch> => {
  const n = index.files.length
  const order = Int32Array.from({ length: n }, (_, i) => i)
  if (o.mode === "train") Rng.derive(o.seed ?? 0, epoch, 0x0de7).shuffle(order)
  const count = batchesPerEpoch(index, o)
  const plane = o.size * o.size
  const per = o.channels * plane
  const scale = o.normalization.std.map((s) => 1 / (255 * s))
  const shift = o.normalization.mean.map((m, c) => -m / (o.normalization.std[c] as number))
  const make = async (b: number): Promise<StreamBatch> => {
    const indices = order.subarray(b * o.batchSize, Math.min(n, (b + 1) * o.batchSize))
    const images = new Float32Array(indices.length * per)
    const labels = new Int32Array(indices.length)
    await Promise.all(
      Array.from(indices, async (i, k) => {
        const file = index.files[i] as string
        const pixels = await pool.run({
          file, mode: o.mode, size: o.size, channels: o.channels, seed: o.seed ?? 0, epoch, index: i,
          scale: o.scale ?? [0.08, 1], ratio: o.ratio ?? [3 / 4, 4 / 3], flip: o.flip ?? 0.5, cropPct: o.cropPct ?? 0.875,
        }).catch((e: unknown) => {
          throw new ImageDecodeError({ file, offset: 0, reason: e instanceof Error ? e.message : String(e) })
        })
        for (let c = 0; c < o.channels; c++) {
          const a = scale[c] as number
          const s = shift[c] as number
          const base = k * per + c * plane
          for (let p = 0; p < plane; p++) images[base + p] = (pixels[c * plane + p] as number) * a + s
        }
        labels[k] = index.labels[i] as number
      }),
    )
    return { index: b, images, shape: [indices.length, o.channels, o.size, o.size], labels, indices: Int32Array.from(indices) }
  }
  const inner = prefetch(count, o.prefetch ?? 2, make)
  const it: AsyncIterableIterator<StreamBatch> = {
    [Symbol.asyncIterator]: () => it,
    next: async () => {
      const r = await inner.next()
      return r.done === true ? { done: true, value: undefined } : { done: false, value: await r.value }
    },
    return: async () => {
      await inner.return?.()
      return { done: true, value: undefined }
    },
  }
  return it
}
