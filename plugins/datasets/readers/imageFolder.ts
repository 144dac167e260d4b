/**
 * Image-folder reader: `<path>/<folder>/<class>/<image>.{png,jpg,jpeg}` with
 * one subfolder per class (sorted names give label order, as torchvision's
 * ImageFolder). Images are decoded with `sharp`, resized to the spec's image
 * size (stretching, no crop) and converted to the spec's channel count.
 * A file sharp cannot decode (or decodes only with warnings, e.g. truncated)
 * is an `ImageDecodeError` naming the file.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import sharp from "sharp"
import { Effect, Schema } from "effect"
import { DatasetSpecError, FileReadError, ImageDecodeError } from "../errors.ts"
import { imageBytes, type ImageSet } from "../ImageSet.ts"
import { readWhole } from "../internal/files.ts"
import type { DatasetReader } from "../reader.ts"
import { checkNormalization, type DatasetSpec, decodeOptions } from "../spec.ts"

/** Options: the split's folder under the spec's path (default: the split name). */
export const ImageFolderOptions = Schema.Struct({
  folder: Schema.optional(Schema.String),
})

const IMAGE_EXT = new Set([".png", ".jpg", ".jpeg"])

const splitFolder = (spec: DatasetSpec): string => {
  const f = spec.options["folder"]
  return path.resolve(spec.path, typeof f === "string" ? f : spec.split)
}

const listDir = (dir: string, wantDirs: boolean): Effect.Effect<Array<string>, FileReadError> =>
  Effect.tryPromise({
    try: async () =>
      (await fs.readdir(dir, { withFileTypes: true }))
        .filter((d) => !d.name.startsWith(".") && (wantDirs ? d.isDirectory() : d.isFile()))
        .map((d) => d.name)
        .sort(),
    catch: (e) =>
      new FileReadError({
        file: dir,
        reason: (e as NodeJS.ErrnoException)?.code === "ENOENT" ? "no such folder" : String((e as Error)?.message ?? e),
      }),
  })

/** Decodes one encoded image to CHW bytes of the given size. */
export const decodeImage = (
  file: string,
  bytes: Uint8Array,
  size: { readonly channels: number; readonly height: number; readonly width: number },
): Effect.Effect<Uint8Array, ImageDecodeError> =>
  Effect.tryPromise({
    try: async () => {
      let img = sharp(bytes, { failOn: "warning" }).resize(size.width, size.height, { fit: "fill" })
      img = size.channels === 1 ? img.greyscale() : img.removeAlpha().toColourspace("srgb")
      const { data, info } = await img.raw().toBuffer({ resolveWithObject: true })
      if (info.channels !== size.channels || info.width !== size.width || info.height !== size.height)
        throw new Error(`decoded to ${info.channels}x${info.height}x${info.width}, expected ${size.channels}x${size.height}x${size.width}`)
      // sharp gives HWC; the data path is CHW.
      const plane = size.height * size.width
      const out = new Uint8Array(size.channels * plane)
      for (let p = 0; p < plane; p++) for (let c = 0; c < size.channels; c++) out[c * plane + p] = data[p * size.channels + c] as number
      return out
    },
    catch: (e) => new ImageDecodeError({ file, offset: 0, reason: String((e as Error)?.message ?? e) }),
  })

/** The image-folder reader (`reader: "image-folder"`). */
export const imageFolderReader: DatasetReader = {
  name: "image-folder",
  summary: "one subfolder per class of PNG/JPEG images under <path>/<folder ?? split>/ (decoded with sharp)",
  files: (spec) => [splitFolder(spec)],
  load: (spec) =>
    Effect.gen(function* () {
      yield* checkNormalization(spec)
      yield* decodeOptions(spec, ImageFolderOptions)
      const root = splitFolder(spec)
      const found = yield* listDir(root, true)
      if (spec.classes.length > 0 && JSON.stringify([...spec.classes].sort()) !== JSON.stringify(found))
        return yield* new DatasetSpecError({
          dataset: spec.name,
          field: "classes",
          value: JSON.stringify(spec.classes),
          expected: `the class subfolders of ${root}: ${JSON.stringify(found)}`,
        })
      const classes = spec.classes.length > 0 ? spec.classes : found
      const items: Array<{ readonly file: string; readonly label: number }> = []
      for (const [label, name] of classes.entries()) {
        const names = yield* listDir(path.join(root, name), false)
        for (const n of names) if (IMAGE_EXT.has(path.extname(n).toLowerCase())) items.push({ file: path.join(root, name, n), label })
      }
      const size = spec.imageSize
      const per = imageBytes(size)
      const images = new Uint8Array(items.length * per)
      const labels = new Int32Array(items.length)
      yield* Effect.forEach(
        items,
        (item, i) =>
          readWhole(item.file).pipe(
            Effect.flatMap((bytes) => decodeImage(item.file, bytes, size)),
            Effect.map((pixels) => {
              images.set(pixels, i * per)
              labels[i] = item.label
            }),
          ),
        { concurrency: 4, discard: true },
      )
      const result: ImageSet = {
        name: spec.name,
        split: spec.split,
        images,
        labels,
        count: items.length,
        ...size,
        classes,
      }
      return result
    }),
}
