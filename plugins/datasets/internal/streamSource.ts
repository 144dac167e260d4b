/**
 * The machinery of `streamSource` (`../source.ts`): one open epoch of
 * `streamEpoch` at a time, batches handed out in order, the last one again
 * on request, and a count of the decoded images held at once.
 *
 * Held: an image counts from the moment its decode is started until the
 * consumer asks for the batch after the one that holds it (or the epoch, or
 * the source, closes). `streamEpoch` starts the decodes of at most
 * `prefetch` batches beyond the one being consumed, so the peak stays below
 * (prefetch + 1) x batch size, whatever the split's size.
 */
import { Effect } from "effect"
import type { Batch, ImageBatch } from "../loader.ts"
import type { Normalization } from "../spec.ts"
import type { FolderIndex } from "../stream/folderIndex.ts"
import type { DecodePool } from "../stream/pool.ts"
import { batchesPerEpoch, type StreamBatch, streamEpoch } from "../stream/stream.ts"

/** Decoded images of a split: how many were decoded, how many are held now and at most. */
export class DecodeMeter {
  decoded = 0
  held = 0
  peak = 0
  add(n: number): void {
    this.decoded += n
    this.held += n
    if (this.held > this.peak) this.peak = this.held
  }
  release(n: number): void {
    this.held -= n
  }
}

export interface StreamedBatchesOptions<E1, E2> {
  readonly mode: "train" | "eval"
  readonly batchSize: number
  readonly size: number
  readonly channels: 1 | 3
  readonly normalization: Normalization
  readonly seed?: number
  readonly scale?: readonly [number, number]
  readonly flip?: number
  readonly prefetch: number
  readonly cropPct: number
  /** The error for a batch asked out of order (`asked`, `expected` in words). */
  readonly orderError: (asked: string, expected: string) => E1
  /** The error for a rejected decode. */
  readonly decodeError: (e: unknown) => E2
}

const toBatch = (epoch: number, s: StreamBatch): Batch => {
  const images: ImageBatch = { data: s.images, shape: s.shape }
  return { epoch, index: s.index, images, views: [images], labels: s.labels, indices: s.indices, mask: undefined }
}

/** In-order batches of `index` decoded by `pool`, counted in `meter`. Call `close` when done. */
export const streamedBatches = <E1, E2>(index: FolderIndex, base: DecodePool, meter: DecodeMeter, o: StreamedBatchesOptions<E1, E2>) => {
  const count = batchesPerEpoch(index, { batchSize: o.batchSize, mode: o.mode })
  // Positions (in the index) of the open epoch whose decode started and that the consumer has not moved past.
  const held = new Set<number>()
  const pool: DecodePool = {
    workers: base.workers,
    close: async () => undefined,
    run: (job) => {
      if (!held.has(job.index)) (held.add(job.index), meter.add(1))
      return base.run(job)
    },
  }
  const releaseAll = () => (meter.release(held.size), held.clear())
  let open: { readonly epoch: number; next: number; readonly it: AsyncIterableIterator<StreamBatch> } | undefined
  let last: Batch | undefined
  const closeEpoch = async () => {
    const it = open?.it
    open = undefined
    last = undefined
    releaseAll()
    await it?.return?.()
  }
  const batch = (epoch: number, b: number): Effect.Effect<Batch, E1 | E2> =>
    Effect.suspend(() => {
      if (last !== undefined && last.epoch === epoch && last.index === b) return Effect.succeed(last)
      const asked = `epoch ${epoch} batch ${b}`
      if (!Number.isInteger(b) || b < 0 || b >= count) return Effect.fail(o.orderError(asked, `a batch in 0..${count - 1}`))
      if (open === undefined || open.epoch !== epoch || open.next !== b) {
        if (b !== 0) {
          const next = open === undefined ? "batch 0 of an epoch" : `epoch ${open.epoch} batch ${open.next}, or batch 0 of an epoch`
          return Effect.fail(o.orderError(asked, next))
        }
        void closeEpoch()
        open = {
          epoch,
          next: 0,
          it: streamEpoch(index, pool, epoch, {
            batchSize: o.batchSize, size: o.size, channels: o.channels, mode: o.mode, normalization: o.normalization, seed: o.seed ?? 0,
            prefetch: o.prefetch, cropPct: o.cropPct, keepLast: o.mode === "eval",
            ...(o.scale === undefined ? {} : { scale: o.scale }),
            ...(o.flip === undefined ? {} : { flip: o.flip }),
          }),
        }
      }
      const current = open
      // The consumer moves past the last batch: its images are no longer held.
      if (last !== undefined) for (const i of last.indices) if (held.delete(i)) meter.release(1)
      last = undefined
      return Effect.tryPromise({ try: () => current.it.next(), catch: o.decodeError }).pipe(
        Effect.tapError(() => Effect.promise(closeEpoch)),
        Effect.flatMap((r) => {
          if (r.done === true) return Effect.fail(o.orderError(asked, `a batch in 0..${current.next - 1} (the epoch ended)`))
          current.next++
          last = toBatch(epoch, r.value)
          return Effect.succeed(last)
        }),
      )
    })
  return { batchesPerEpoch: count, batch, close: closeEpoch }
}
