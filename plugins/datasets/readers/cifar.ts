/**
 * CIFAR-10 / CIFAR-100 binary batches (Krizhevsky, 2009). A file is a run of
 * fixed-size records: label byte(s) then `3 * 32 * 32` pixel bytes in CHW
 * order (the red plane, the green, the blue). CIFAR-10 records carry one label
 * byte; CIFAR-100 records carry the coarse label then the fine label.
 *
 * The format has no header: a file whose size is not a whole number of
 * records is truncated, and a label byte not below the class count is
 * corrupt. Errors name the file and the byte offset.
 */
import * as path from "node:path"
import { Effect, Schema } from "effect"
import { type DatasetReadError, LabelOutOfRangeError, TruncatedFileError } from "../errors.ts"
import { imageBytes, type ImageSet } from "../ImageSet.ts"
import { readMaybeGzip } from "../internal/files.ts"
import type { DatasetReader } from "../reader.ts"
import { checkNormalization, type DatasetSpec, decodeOptions } from "../spec.ts"

/** Record layouts: label bytes per record and which of them is the label. */
export const CifarLayout = Schema.Literals(["cifar10", "cifar100-fine", "cifar100-coarse"])
export type CifarLayout = typeof CifarLayout.Type

/** Options of a CIFAR dataset: batch files relative to the spec's path, in order. */
export const CifarOptions = Schema.Struct({
  files: Schema.Array(Schema.String),
  layout: CifarLayout,
})

const labelLayout = (layout: CifarLayout): { readonly labelBytes: number; readonly labelAt: number } =>
  layout === "cifar10" ? { labelBytes: 1, labelAt: 0 } : { labelBytes: 2, labelAt: layout === "cifar100-coarse" ? 0 : 1 }

/** Decodes CIFAR binary batches (already in memory) into one ImageSet. */
export const decodeCifar = (
  spec: DatasetSpec,
  layout: CifarLayout,
  files: ReadonlyArray<{ readonly file: string; readonly bytes: Uint8Array }>,
): Effect.Effect<ImageSet, DatasetReadError> =>
  Effect.gen(function* () {
    const { labelBytes, labelAt } = labelLayout(layout)
    const pixels = imageBytes(spec.imageSize)
    const record = labelBytes + pixels
    const numClasses = spec.classes.length
    let count = 0
    for (const { file, bytes } of files) {
      const whole = Math.floor(bytes.length / record)
      if (bytes.length === 0 || bytes.length !== whole * record)
        return yield* new TruncatedFileError({
          file,
          offset: whole * record,
          needed: (whole + 1) * record,
          available: bytes.length,
        })
      count += whole
    }
    const images = new Uint8Array(count * pixels)
    const labels = new Int32Array(count)
    let i = 0
    for (const { file, bytes } of files) {
      for (let o = 0; o < bytes.length; o += record, i++) {
        const l = bytes[o + labelAt] as number
        if (l >= numClasses) return yield* new LabelOutOfRangeError({ file, offset: o + labelAt, label: l, numClasses })
        labels[i] = l
        images.set(bytes.subarray(o + labelBytes, o + record), i * pixels)
      }
    }
    const { channels, height, width } = spec.imageSize
    return { name: spec.name, split: spec.split, images, labels, count, channels, height, width, classes: spec.classes }
  })

/** The CIFAR binary reader (`reader: "cifar"`). */
export const cifarReader: DatasetReader = {
  name: "cifar",
  summary: "CIFAR-10/100 binary batches: options { files: [...], layout: cifar10 | cifar100-fine | cifar100-coarse }",
  files: (spec) => {
    const fs = spec.options["files"]
    return Array.isArray(fs) ? fs.map((f) => path.resolve(spec.path, f)) : []
  },
  load: (spec) =>
    Effect.gen(function* () {
      yield* checkNormalization(spec)
      const o = yield* decodeOptions(spec, CifarOptions)
      const files = yield* Effect.forEach(
        o.files,
        (f) => {
          const file = path.resolve(spec.path, f)
          return readMaybeGzip(file).pipe(Effect.map((bytes) => ({ file, bytes })))
        },
        { concurrency: 2 },
      )
      return yield* decodeCifar(spec, o.layout, files)
    }),
}
