/**
 * Shared parts of the pooled readers (digit sheet, texture patches,
 * clip-art): the split options every one of them records, decoding a whole
 * grey image to raw pixels, and assembling the chosen examples into an
 * `ImageSet` through {@link convertImage}.
 */
import sharp from "sharp"
import { Effect, Schema } from "effect"
import { ImageDecodeError, type DatasetReadError } from "../errors.ts"
import type { ImageSet } from "../ImageSet.ts"
import type { DatasetSpec } from "../spec.ts"
import { convertImage, type ImageInput } from "./convert.ts"

const PerClass = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 1_000_000 }))

/** Options of a seeded class-balanced split (see `balancedSplit.ts`). */
export const SplitFields = {
  seed: Schema.Int,
  trainPerClass: PerClass,
  testPerClass: PerClass,
}

/** A grey image decoded whole (sharp, failing on decode errors). */
export const decodeGrey = (
  file: string,
  bytes: Uint8Array,
): Effect.Effect<{ readonly pixels: Uint8Array; readonly width: number; readonly height: number }, ImageDecodeError> =>
  Effect.tryPromise({
    try: async () => {
      const { data, info } = await sharp(bytes, { failOn: "error" })
        .flatten({ background: { r: 255, g: 255, b: 255 } })
        .greyscale()
        .raw()
        .toBuffer({ resolveWithObject: true })
      if (info.channels !== 1) throw new Error(`decoded to ${info.channels} channels, expected 1`)
      return { pixels: new Uint8Array(data), width: info.width, height: info.height }
    },
    catch: (e) => new ImageDecodeError({ file, offset: 0, reason: String((e as Error)?.message ?? e) }),
  })

/** One chosen example: where it comes from (for errors), how to get its input, its label. */
export interface PoolItem {
  readonly file: string
  readonly label: number
  readonly input: () => Effect.Effect<ImageInput, DatasetReadError>
}

/** Converts `items` (in order) into the spec's ImageSet. */
export const assemble = (spec: DatasetSpec, items: ReadonlyArray<PoolItem>): Effect.Effect<ImageSet, DatasetReadError> =>
  Effect.gen(function* () {
    const size = spec.imageSize
    const per = size.channels * size.height * size.width
    const images = new Uint8Array(items.length * per)
    const labels = new Int32Array(items.length)
    yield* Effect.forEach(
      items,
      (item, i) =>
        item.input().pipe(
          Effect.flatMap((input) => convertImage(item.file, input, size)),
          Effect.map((pixels) => {
            images.set(pixels, i * per)
            labels[i] = item.label
          }),
        ),
      { concurrency: 4, discard: true },
    )
    return { name: spec.name, split: spec.split, images, labels, count: items.length, ...size, classes: [...spec.classes] }
  })

/** Crops a `size` x `size` window at (x, y) of a grey image. */
export const crop = (img: { readonly pixels: Uint8Array; readonly width: number }, x: number, y: number, size: number): Uint8Array => {
  const out = new Uint8Array(size * size)
  for (let r = 0; r < size; r++) out.set(img.pixels.subarray((y + r) * img.width + x, (y + r) * img.width + x + size), r * size)
  return out
}
