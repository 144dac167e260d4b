/**
 * The `imagenet` dataset entry and its reader (`reader: "imagenet-folder"`):
 * `<data root>/imagenet/{train,val}` in ImageNet layout (`folderIndex.ts`),
 * 3 x 224 x 224, ImageNet mean / std.
 *
 * The reader streams (`stream`): the stages that iterate batches (the
 * paper's adaptation, student, KD and scoring stages; `openSplit` in
 * `../source.ts`) index the split and decode batches as they go, in worker
 * threads, at the model's input size, with memory bounded by the prefetch
 * depth, whatever the split's size. `load` (what the stages that hold a
 * split in memory call: DINO / MAE pretraining, `paper/trunk-features`)
 * decodes a split with the eval transform (shorter side to 256, centre 224)
 * through the same workers, and refuses splits over `maxInMemory` images
 * (default 20,000: 3 GB of pixels) with a `DatasetSpecError`.
 */
import * as path from "node:path"
import { Effect, Schema } from "effect"
import { DatasetMissingError, DatasetSpecError, ImageDecodeError } from "../errors.ts"
import type { ImageSet } from "../ImageSet.ts"
import type { DatasetReader } from "../reader.ts"
import { DATA_DIR_ENV, type DatasetEntry } from "../registry.ts"
import { checkNormalization, decodeOptions } from "../spec.ts"
import { indexImageFolder, interleaveClasses } from "./folderIndex.ts"
import { makeDecodePool } from "./pool.ts"
import { streamEpoch } from "./stream.ts"
import * as fs from "node:fs"

/** Options: decode workers, the in-memory cap, the eval crop fraction, the streaming prefetch depth. */
export const ImagenetFolderOptions = Schema.Struct({
  /** The split's folder under the root (`train`, `val`). */
  folder: Schema.String,
  workers: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 64 })),
  maxInMemory: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)),
  cropPct: Schema.Finite.check(Schema.isBetween({ minimum: 0.1, maximum: 1 })),
  /** Batches a stream decodes ahead of the consumer (default 2). */
  prefetch: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 64 }))),
})

/** The ImageNet-folder reader (streamed, or in memory up to `maxInMemory`; see the module comment). */
export const imagenetFolderReader: DatasetReader = {
  name: "imagenet-folder",
  summary: "ImageNet layout (<split>/<wnid>/*.JPEG or val + labels file), decoded in worker threads; streamed by the training and scoring stages",
  files: (spec) => [path.join(spec.path, String(spec.options["folder"] ?? spec.split))],
  stream: (spec) =>
    Effect.gen(function* () {
      yield* checkNormalization(spec)
      const o = yield* decodeOptions(spec, ImagenetFolderOptions)
      const { channels } = spec.imageSize
      if (channels !== 1 && channels !== 3) return yield* new DatasetSpecError({ dataset: spec.name, field: "imageSize.channels", value: String(channels), expected: "1 or 3" })
      const index = interleaveClasses(yield* indexImageFolder(spec.path, o.folder, { dataset: spec.name }))
      return { index, workers: o.workers, cropPct: o.cropPct, prefetch: o.prefetch ?? 2 }
    }),
  load: (spec) =>
    Effect.gen(function* () {
      yield* checkNormalization(spec)
      const o = yield* decodeOptions(spec, ImagenetFolderOptions)
      const index = interleaveClasses(yield* indexImageFolder(spec.path, o.folder, { dataset: spec.name }))
      if (index.files.length > o.maxInMemory)
        return yield* new DatasetSpecError({
          dataset: spec.name,
          field: "options.maxInMemory",
          value: `${o.maxInMemory} (the ${spec.split} split has ${index.files.length} images)`,
          expected:
            "a split of at most that many images for a stage that holds its split in memory (teachers/pretrain-dino, teachers/pretrain-mae, paper/trunk-features); " +
            "the paper's training and scoring stages stream a split of any size (plugins/datasets/source.ts)",
        })
      const { channels, height } = spec.imageSize
      if (channels !== 1 && channels !== 3) return yield* new DatasetSpecError({ dataset: spec.name, field: "imageSize.channels", value: String(channels), expected: "1 or 3" })
      const pool = makeDecodePool(o.workers)
      const unit = { mean: new Array<number>(channels).fill(0), std: new Array<number>(channels).fill(1 / 255) }
      const images = new Uint8Array(index.files.length * channels * height * height)
      const labels = new Int32Array(index.files.length)
      yield* Effect.tryPromise({
        try: async () => {
          const it = streamEpoch(index, pool, 0, { batchSize: 64, size: height, channels, mode: "eval", normalization: unit, cropPct: o.cropPct })
          let at = 0
          for await (const b of it) {
            for (let k = 0; k < b.images.length; k++) images[at * channels * height * height + k] = Math.round(b.images[k] as number)
            labels.set(b.labels, at)
            at += b.labels.length
          }
        },
        catch: (e) => (e instanceof ImageDecodeError ? e : new ImageDecodeError({ file: spec.path, offset: 0, reason: String(e) })),
      }).pipe(Effect.ensuring(Effect.promise(() => pool.close())))
      const set: ImageSet = { name: spec.name, split: spec.split, images, labels, count: labels.length, channels, height, width: height, classes: index.classes }
      return set
    }),
}

/** The `imagenet` entry: `<data root>/imagenet`, splits `train` and `val` (the registry's `test`). */
export const imagenetEntry: DatasetEntry = {
  name: "imagenet",
  summary: "ImageNet-1k in its usual folder layout under <data root>/imagenet (train/<wnid>/*.JPEG, val/...), 3x224x224",
  resolve: (ctx) =>
    Effect.suspend(() => {
      const root = path.join(ctx.dataRoot, "imagenet")
      const folder = ctx.split === "train" ? "train" : "val"
      if (!fs.existsSync(path.join(root, folder)))
        return Effect.fail(new DatasetMissingError({ dataset: "imagenet", path: path.join(root, folder), hint: `Put ImageNet's train/ and val/ folders in <dir>/imagenet/ and set ${DATA_DIR_ENV}=<dir> or pass --data-dir <dir>.` }))
      return Effect.succeed({
        name: "imagenet",
        reader: imagenetFolderReader.name,
        path: root,
        split: ctx.split,
        classes: [],
        imageSize: { channels: 3, height: 224, width: 224 },
        normalization: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
        options: { folder, workers: 2, maxInMemory: 20_000, cropPct: 0.875 },
        preprocessing:
          "sRGB; streamed at the model's input size S: RandomResizedCrop + flip (training), shorter side resized to S / 0.875 (bilinear) and the centre S x S crop (evaluation); " +
          "loaded in memory: shorter side to 256, centre 224 x 224",
      })
    }),
}
