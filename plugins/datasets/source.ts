/**
 * Where a stage's batches come from: a split held in memory, or a split
 * streamed from its files.
 *
 * `openSplit(dataset, split, count)` names a split as the stages do (registry
 * name, split, the first `count` examples; 0 = all) and applies the rule:
 *
 * - a split whose reader can stream (`DatasetReader.stream`: the
 *   `imagenet-folder` reader, i.e. the `imagenet` entry and any entry a
 *   plugin registers with that reader) is **streamed**, whatever its size:
 *   only its file index (names and labels) is read; a stage's batches are
 *   decoded from the files as it asks for them, in the reader's decode
 *   workers, at most `prefetch` batches ahead, so the decoded images held at
 *   once stay below (prefetch + 1) x batch size whatever the split's size;
 * - every other split is loaded in memory (`loadSplit`), exactly as before.
 *
 * The stage then makes a {@link BatchSource} of it: `loaderSource(loader)`
 * over an in-memory split (the batches of `makeLoader`, bit for bit), or
 * `streamSource(split, ...)` over a streamed one (`stream/stream.ts`:
 * RandomResizedCrop + flip from the full-size file for `train`, the shorter
 * side to size / cropPct and the centre crop for `eval`, at the size the
 * stage asks for, i.e. the model's input size). A streamed source gives an
 * epoch's batches in order (`SourceOrderError` otherwise), so a stage that
 * needs random access, a trunk-feature cache, DINO multi-crop or MAE masks
 * keeps `loadSplit`; the `imagenet-folder` reader's `load` refuses a split
 * over its `maxInMemory` option (default 20,000) with a `DatasetSpecError`.
 *
 * Run it in a scope (`Effect.scoped`): the decode workers and the open epoch
 * stop when the scope closes; a stage's log then says how many images were
 * decoded and the most held at once.
 *
 * @example
 * const data = yield* openSplit("imagenet", "train", 0)
 * const source = data.kind === "memory"
 *   ? loaderSource(yield* makeLoader(data.set, { batchSize: 256, normalization, augmentation }))
 *   : yield* streamSource(data, { mode: "train", batchSize: 256, size: 224, channels: 3, normalization, seed })
 * for (let b = 0; b < source.batchesPerEpoch; b++) train(yield* source.batch(epoch, b))
 */
import { Data, Effect, Option, type Scope } from "effect"
import { StageContext } from "../../dsl/index.ts"
import { Datasets } from "./builtins.ts"
import { DatasetSpecError, ImageDecodeError } from "./errors.ts"
import type { ImageSet } from "./ImageSet.ts"
import { DecodeMeter, streamedBatches } from "./internal/streamSource.ts"
import type { Batch, Loader } from "./loader.ts"
import type { DatasetSpec, Normalization, Split } from "./spec.ts"
import { loadSplit } from "./splits.ts"
import type { FolderIndex } from "./stream/folderIndex.ts"
import { type DecodePool, makeDecodePool } from "./stream/pool.ts"

/** What a stage needs to know about a split, in memory or streamed. */
export interface SplitMeta {
  readonly name: string
  readonly split: Split
  /** Examples the stage reads (after `count`). */
  readonly count: number
  readonly classes: ReadonlyArray<string>
  readonly channels: number
  /** The class index of every example, in split order. */
  readonly labels: Int32Array
}

/** A split loaded in memory. */
export interface MemorySplit {
  readonly kind: "memory"
  readonly spec: DatasetSpec
  readonly meta: SplitMeta
  readonly set: ImageSet
}

/** A split streamed from its files: its index (no pixels), the decode workers and settings. */
export interface StreamedSplit {
  readonly kind: "stream"
  readonly spec: DatasetSpec
  readonly meta: SplitMeta
  readonly index: FolderIndex
  readonly pool: DecodePool
  readonly cropPct: number
  readonly prefetch: number
  /** Images decoded, and the most held at once, over every source of this split. */
  readonly meter: DecodeMeter
}

/** A split as `openSplit` gives it. */
export type SplitData = MemorySplit | StreamedSplit

/** A streamed source asked for a batch out of order (streamed batches come in order within an epoch). */
export class SourceOrderError extends Data.TaggedError("SourceOrderError")<{
  readonly dataset: string
  readonly split: string
  /** The batch asked for, `epoch e batch b`. */
  readonly asked: string
  readonly expected: string
}> {
  override get message() {
    return (
      `dataset ${this.dataset} (${this.split}) is streamed: asked for ${this.asked}, expected ${this.expected}. ` +
      "A streamed split gives an epoch's batches in order; a stage that needs random access loads the split in memory (loadSplit)"
    )
  }
}

/** A failure of a source's `batch`: a file that does not decode, or a streamed batch asked for out of order. */
export type SourceError = ImageDecodeError | SourceOrderError

/** The batches a stage iterates, whether the split is in memory or streamed. */
export interface BatchSource {
  /** True when the batches are decoded from files as they are asked for. */
  readonly streamed: boolean
  readonly batchesPerEpoch: number
  /**
   * Batch `b` of epoch `e`. In memory: any (e, b), computed on the spot. Streamed:
   * batch 0 of any epoch, the batch after the last one given, or the last one again.
   */
  readonly batch: (epoch: number, b: number) => Effect.Effect<Batch, SourceError>
  /**
   * Done with the open epoch: a streamed source drops the batch it handed out
   * last and stops decoding ahead (the next call must be batch 0 of an
   * epoch); nothing for an in-memory one. Call it after a pass, so that a
   * second source of the same split does not add its batches to these.
   */
  readonly release: Effect.Effect<void>
}

/** A source over an in-memory loader: `loader.batch(e, b)`, unchanged. */
export const loaderSource = (loader: Loader): BatchSource => ({
  streamed: false,
  batchesPerEpoch: loader.batchesPerEpoch,
  batch: (epoch, b) => Effect.sync(() => loader.batch(epoch, b)),
  release: Effect.void,
})

/** `x` as a source (a loader is wrapped by {@link loaderSource}). */
export const asSource = (x: Loader | BatchSource): BatchSource => ("streamed" in x ? x : loaderSource(x))

/** How a streamed source decodes: the transform, the batch, the size and channels it decodes to, the normalization. */
export interface StreamSourceOptions {
  /** `train`: shuffled per (seed, epoch), RandomResizedCrop + flip, the last partial batch dropped; `eval`: file order, resize + centre crop, every image. */
  readonly mode: "train" | "eval"
  readonly batchSize: number
  /** Output height and width (the model's input size). */
  readonly size: number
  /** 3 (sRGB) or 1 (sharp's greyscale). */
  readonly channels: 1 | 3
  readonly normalization: Normalization
  readonly seed?: number
  /** Train: the crop's area fraction range (default [0.08, 1]) and the flip probability (default 0.5). */
  readonly scale?: readonly [number, number]
  readonly flip?: number
}

/** Batches of a streamed split; the open epoch closes with the scope. */
export const streamSource = (split: StreamedSplit, o: StreamSourceOptions): Effect.Effect<BatchSource, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() =>
        streamedBatches(split.index, split.pool, split.meter, {
          ...o,
          prefetch: split.prefetch,
          cropPct: split.cropPct,
          orderError: (asked, expected) => new SourceOrderError({ dataset: split.spec.name, split: split.spec.split, asked, expected }),
          decodeError: (e) =>
            e instanceof ImageDecodeError ? e : new ImageDecodeError({ file: split.index.root, offset: 0, reason: e instanceof Error ? e.message : String(e) }),
        }),
      ),
      (s) => Effect.promise(() => s.close()),
    ),
    (s): BatchSource => ({ streamed: true, batchesPerEpoch: s.batchesPerEpoch, batch: s.batch, release: Effect.promise(s.close) }),
  )

/** The split a stage reads, in memory or streamed by the rule of the module comment. */
export const openSplit = (dataset: string, split: Split, count: number) =>
  Effect.gen(function* () {
    const registry = yield* Datasets
    const spec = yield* registry.resolve(dataset, { split })
    const reader = yield* registry.readers.get(spec.reader)
    if (reader.stream === undefined) {
      const { set } = yield* loadSplit(dataset, split, count)
      const memory: SplitData = {
        kind: "memory",
        spec,
        set,
        meta: { name: set.name, split, count: set.count, classes: set.classes, channels: set.channels, labels: set.labels },
      }
      return memory
    }
    const plan = yield* reader.stream(spec)
    const all = plan.index
    if (all.classes.length === 0) return yield* new DatasetSpecError({ dataset: spec.name, field: "classes", value: "[]", expected: "at least one class" })
    const n = count === 0 || count >= all.files.length ? all.files.length : count
    const index: FolderIndex = n === all.files.length ? all : { ...all, files: all.files.slice(0, n), labels: all.labels.slice(0, n) }
    const meter = new DecodeMeter()
    const log = (line: string) =>
      Effect.flatMap(Effect.serviceOption(StageContext), (ctx) => (Option.isSome(ctx) ? ctx.value.log(line) : Effect.void))
    const where = `${spec.name} ${split}`
    yield* log(
      `${where}: streaming ${n} of ${all.files.length} images (${all.classes.length} classes) from ${all.root}/${all.split}, ` +
        `${plan.workers} decode worker(s), prefetch ${plan.prefetch}`,
    )
    const pool = yield* Effect.acquireRelease(Effect.sync(() => makeDecodePool(plan.workers)), (p) =>
      Effect.andThen(
        Effect.promise(() => p.close()),
        log(`${where}: streamed ${meter.decoded} decoded images, at most ${meter.peak} held at once`),
      ),
    )
    const streamed: SplitData = {
      kind: "stream",
      spec,
      index,
      pool,
      cropPct: plan.cropPct,
      prefetch: plan.prefetch,
      meter,
      meta: { name: spec.name, split, count: n, classes: all.classes, channels: spec.imageSize.channels, labels: index.labels },
    }
    return streamed
  })
