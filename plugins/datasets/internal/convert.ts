/**
 * The one conversion every packaged real dataset goes through (clip-art,
 * digit sheet, texture patches): any image (any size, grey / grey+alpha /
 * RGB / RGBA) becomes the spec's CHW bytes by
 *
 * 1. alpha flattened onto white (clip-art is drawn on transparency);
 * 2. resized with sharp's default Lanczos-3 kernel to the spec's height x
 *    width, aspect ratio kept, the short side padded with white
 *    (`fit: "contain"`; square inputs such as digit cells and texture patches
 *    are scaled without padding);
 * 3. to one channel by ITU-R BT.601 luma, `round(0.299 R + 0.587 G + 0.114 B)`,
 *    the rule `paper/downstream`'s `rgbToGrey` uses, so a colour source
 *    becomes the same grey everywhere; a grey source stays as it is.
 *
 * {@link preprocessingText} is the sentence the specs carry (`preprocessing`)
 * so reports can say how the images were made.
 */
import sharp from "sharp"
import { Effect } from "effect"
import { ImageDecodeError } from "../errors.ts"

/** Target shape of the conversion (CHW). */
export interface TargetSize {
  readonly channels: number
  readonly height: number
  readonly width: number
}

/** A human-readable description of {@link convertImage} for `size`, stored in dataset specs. */
export const preprocessingText = (size: TargetSize, source: string): string =>
  `${source}; alpha flattened onto white, resized to ${size.height}x${size.width} with Lanczos-3 ` +
  `(aspect kept, padded with white), ${size.channels === 1 ? "converted to grey by BT.601 luma (0.299 R + 0.587 G + 0.114 B)" : "as sRGB"}`

/** The input sharp reads: an encoded file's bytes, or raw grey pixels (a crop of a larger image). */
export type ImageInput =
  | { readonly kind: "encoded"; readonly bytes: Uint8Array }
  | { readonly kind: "raw"; readonly pixels: Uint8Array; readonly width: number; readonly height: number }

/** BT.601 luma of one RGB pixel, rounded to a byte. */
export const luma601 = (r: number, g: number, b: number): number => Math.round(0.299 * r + 0.587 * g + 0.114 * b)

/** Converts one image to CHW bytes of `size` (see the module comment for the rule). */
export const convertImage = (file: string, input: ImageInput, size: TargetSize): Effect.Effect<Uint8Array, ImageDecodeError> =>
  Effect.tryPromise({
    try: async () => {
      const source =
        input.kind === "encoded"
          ? sharp(input.bytes, { failOn: "error" })
          : sharp(input.pixels, { raw: { width: input.width, height: input.height, channels: 1 } })
      const { data, info } = await source
        .flatten({ background: { r: 255, g: 255, b: 255 } })
        .toColourspace("srgb")
        .resize(size.width, size.height, { fit: "contain", background: { r: 255, g: 255, b: 255 } })
        .removeAlpha()
        .raw()
        .toBuffer({ resolveWithObject: true })
      if (info.width !== size.width || info.height !== size.height || (info.channels !== 3 && info.channels !== 1))
        throw new Error(`decoded to ${info.channels}x${info.height}x${info.width}, expected 3x${size.height}x${size.width}`)
      const plane = size.height * size.width
      const out = new Uint8Array(size.channels * plane)
      const c = info.channels
      for (let p = 0; p < plane; p++) {
        const r = data[p * c] as number
        const g = c === 3 ? (data[p * c + 1] as number) : r
        const b = c === 3 ? (data[p * c + 2] as number) : r
        if (size.channels === 1) out[p] = luma601(r, g, b)
        else {
          out[p] = r
          out[plane + p] = g
          out[2 * plane + p] = b
        }
      }
      return out
    },
    catch: (e) => new ImageDecodeError({ file, offset: 0, reason: String((e as Error)?.message ?? e) }),
  })
