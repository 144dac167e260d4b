/**
 * Augmentations as plain data, and their compiled per-image form.
 *
 * - `resize`: the whole image resized (no randomness): evaluation.
 * - `random-crop`: random resized crop + horizontal flip (DeiT/torchvision).
 * - `multi-crop`: DINO's views (Caron et al., 2021): 2 global crops
 *   (scale 0.4-1) and N local crops (scale 0.05-0.4) at a smaller size.
 * - `masked`: MAE's input (He et al., 2022): a random resized crop + flip and
 *   a random patch mask of exactly `round(maskRatio * numPatches)` patches.
 * Every view is normalized with the dataset's mean/std. Multi-crop can add
 * DINO's brightness/contrast jitter (every view) and solarization (second
 * global view) (`photometric.ts`); blur is not implemented.
 */
import { Data, Effect } from "effect"
import type { ImageSet } from "../ImageSet.ts"
import type { Rng } from "../prng.ts"
import type { Normalization } from "../spec.ts"
import { drawPatchMask, maskedCount } from "./masking.ts"
import { applyPhotometric } from "./photometric.ts"
import { type CropBox, fullBox, pixelMap, renderCrop, sampleResizedCrop } from "./resizedCrop.ts"

type Range = readonly [number, number]

/** Deterministic resize of the whole image (to the source size when `size` is absent). */
export interface ResizeAugment { readonly kind: "resize"; readonly size?: number }
/** Random resized crop + flip. */
export interface RandomCropAugment {
  readonly kind: "random-crop"
  readonly size: number
  readonly scale: Range
  readonly ratio: Range
  readonly flip: number
}
/** DINO multi-crop: views 0-1 global, 2.. local. */
export interface MultiCropAugment {
  readonly kind: "multi-crop"
  readonly globalSize: number
  readonly globalScale: Range
  readonly localSize: number
  readonly localScale: Range
  readonly localCrops: number
  readonly ratio: Range
  readonly flip: number
  /** Brightness/contrast jitter strength on every view (DINO 0.4; default 0: off), applied with probability `jitterProb` (0.8). */
  readonly jitter: number
  readonly jitterProb: number
  /** Solarization probability of the second global view (DINO 0.2; default 0). */
  readonly solarize: number
}
/** MAE masking on top of a random resized crop. */
export interface MaskedAugment {
  readonly kind: "masked"
  readonly size: number
  readonly patchSize: number
  readonly maskRatio: number
  readonly scale: Range
  readonly ratio: Range
  readonly flip: number
}
export type Augmentation = ResizeAugment | RandomCropAugment | MultiCropAugment | MaskedAugment

const RATIO: Range = [3 / 4, 4 / 3]

/** No randomness: the whole image, resized to `size` if given. */
export const resize = (size?: number): ResizeAugment => (size === undefined ? { kind: "resize" } : { kind: "resize", size })
/** Random resized crop (default scale 0.08-1, ratio 3/4-4/3) + flip (default p = 0.5). */
export const randomCrop = (o: { size: number } & Partial<Omit<RandomCropAugment, "kind" | "size">>): RandomCropAugment => ({
  kind: "random-crop", scale: [0.08, 1], ratio: RATIO, flip: 0.5, ...o,
})
/** DINO multi-crop with DINO's defaults: scales 0.4-1 / 0.05-0.4, local size 96/224 of global, 6 local crops. */
export const multiCrop = (o: { globalSize: number } & Partial<Omit<MultiCropAugment, "kind" | "globalSize">>): MultiCropAugment => ({
  kind: "multi-crop", globalScale: [0.4, 1], localScale: [0.05, 0.4], localSize: Math.max(1, Math.round((o.globalSize * 96) / 224)),
  localCrops: 6, ratio: RATIO, flip: 0.5, jitter: 0, jitterProb: 0.8, solarize: 0, ...o,
})
/** MAE masking with MAE's defaults: ratio 0.75, crop scale 0.2-1. */
export const masked = (o: { size: number; patchSize: number } & Partial<Omit<MaskedAugment, "kind" | "size" | "patchSize">>): MaskedAugment => ({
  kind: "masked", maskRatio: 0.75, scale: [0.2, 1], ratio: RATIO, flip: 0.5, ...o,
})

/** An augmentation parameter outside its domain. */
export class AugmentationConfigError extends Data.TaggedError("AugmentationConfigError")<{
  readonly field: string
  readonly value: string
  readonly expected: string
}> {
  override get message() {
    return `augmentation field "${this.field}" is ${this.value}, expected ${this.expected}`
  }
}

/** Output shape of one view (CHW). */
export interface ViewShape { readonly channels: number; readonly height: number; readonly width: number }

/** Per-batch output buffers the compiled augmentation writes into. */
export interface AugmentBuffers {
  readonly views: ReadonlyArray<Float32Array>
  readonly mask: Uint8Array | undefined
  readonly keep: Int32Array | undefined
}

/** An augmentation bound to a source image size and a normalization. */
export interface CompiledAugmentation {
  readonly views: ReadonlyArray<ViewShape>
  readonly mask: { readonly patchSize: number; readonly numPatches: number; readonly numMasked: number } | undefined
  /** Writes example `index` of `set` into batch slot `slot` of `out`, drawing randomness from `rng`. */
  readonly apply: (set: ImageSet, index: number, rng: Rng, out: AugmentBuffers, slot: number) => void
}

const check = (ok: boolean, field: string, value: unknown, expected: string) =>
  ok ? Effect.void : Effect.fail(new AugmentationConfigError({ field, value: JSON.stringify(value), expected }))
const size = (v: number, field: string) => check(Number.isInteger(v) && v >= 1 && v <= 4096, field, v, "an integer in 1..4096")
const range = (r: Range, field: string, lo: number, hi: number) =>
  check(r.length === 2 && r[0] > lo && r[0] <= r[1] && r[1] <= hi, field, r, `[a, b] with ${lo} < a <= b <= ${hi}`)
const prob = (p: number, field: string) => check(p >= 0 && p <= 1, field, p, "a probability in [0, 1]")

/** Validates `aug` and binds it to the source image shape and normalization. */
export const compileAugmentation = (
  aug: Augmentation,
  source: ViewShape,
  norm: Normalization,
): Effect.Effect<CompiledAugmentation, AugmentationConfigError> =>
  Effect.gen(function* () {
    const map = pixelMap(norm.mean, norm.std)
    const { channels: c, height: h, width: w } = source
    const view = (s: number): ViewShape => ({ channels: c, height: s, width: s })
    const draw = (set: ImageSet, i: number, box: CropBox, flip: boolean, s: number, dst: Float32Array, slot: number) =>
      renderCrop(set.images, i * c * h * w, c, h, w, box, flip, s, s, map, dst, slot * c * s * s)
    switch (aug.kind) {
      case "resize": {
        if (aug.size !== undefined) yield* size(aug.size, "size")
        const oh = aug.size ?? h
        const ow = aug.size ?? w
        return {
          views: [{ channels: c, height: oh, width: ow }],
          mask: undefined,
          apply: (set, i, _rng, out, slot) =>
            renderCrop(set.images, i * c * h * w, c, h, w, fullBox(h, w), false, oh, ow, map, out.views[0] as Float32Array, slot * c * oh * ow),
        }
      }
      case "random-crop": {
        yield* size(aug.size, "size")
        yield* range(aug.scale, "scale", 0, 1)
        yield* range(aug.ratio, "ratio", 0, Infinity)
        yield* prob(aug.flip, "flip")
        return {
          views: [view(aug.size)],
          mask: undefined,
          apply: (set, i, rng, out, slot) => {
            const box = sampleResizedCrop(rng, h, w, aug.scale, aug.ratio)
            draw(set, i, box, rng.float() < aug.flip, aug.size, out.views[0] as Float32Array, slot)
          },
        }
      }
      case "multi-crop": {
        yield* size(aug.globalSize, "globalSize")
        yield* size(aug.localSize, "localSize")
        yield* range(aug.globalScale, "globalScale", 0, 1)
        yield* range(aug.localScale, "localScale", 0, 1)
        yield* range(aug.ratio, "ratio", 0, Infinity)
        yield* prob(aug.flip, "flip")
        yield* check(aug.jitter >= 0 && aug.jitter <= 1, "jitter", aug.jitter, "a strength in [0, 1]")
        yield* prob(aug.jitterProb, "jitterProb")
        yield* prob(aug.solarize, "solarize")
        yield* check(Number.isInteger(aug.localCrops) && aug.localCrops >= 0 && aug.localCrops <= 64, "localCrops", aug.localCrops, "an integer in 0..64")
        const sizes = [aug.globalSize, aug.globalSize, ...new Array<number>(aug.localCrops).fill(aug.localSize)]
        return {
          views: sizes.map(view),
          mask: undefined,
          apply: (set, i, rng, out, slot) => {
            sizes.forEach((s, v) => {
              const box = sampleResizedCrop(rng, h, w, v < 2 ? aug.globalScale : aug.localScale, aug.ratio)
              draw(set, i, box, rng.float() < aug.flip, s, out.views[v] as Float32Array, slot)
              const photo = { jitter: aug.jitter, jitterProb: aug.jitterProb, solarizeProb: v === 1 ? aug.solarize : 0 }
              applyPhotometric(rng, photo, map, out.views[v] as Float32Array, slot * c * s * s, c, s * s)
            })
          },
        }
      }
      case "masked": {
        yield* size(aug.size, "size")
        yield* check(Number.isInteger(aug.patchSize) && aug.patchSize >= 1 && aug.size % aug.patchSize === 0, "patchSize", aug.patchSize, `a divisor of size ${aug.size}`)
        yield* check(aug.maskRatio >= 0 && aug.maskRatio < 1, "maskRatio", aug.maskRatio, "a ratio in [0, 1)")
        yield* range(aug.scale, "scale", 0, 1)
        yield* range(aug.ratio, "ratio", 0, Infinity)
        yield* prob(aug.flip, "flip")
        const grid = aug.size / aug.patchSize
        const numPatches = grid * grid
        const numMasked = maskedCount(numPatches, aug.maskRatio)
        return {
          views: [view(aug.size)],
          mask: { patchSize: aug.patchSize, numPatches, numMasked },
          apply: (set, i, rng, out, slot) => {
            const box = sampleResizedCrop(rng, h, w, aug.scale, aug.ratio)
            draw(set, i, box, rng.float() < aug.flip, aug.size, out.views[0] as Float32Array, slot)
            drawPatchMask(rng, numPatches, numMasked, out.mask as Uint8Array, slot * numPatches, out.keep as Int32Array, slot * (numPatches - numMasked))
          },
        }
      }
    }
  })
