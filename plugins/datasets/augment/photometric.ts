/**
 * DINO's photometric augmentations that apply to any channel count, done in
 * place on a rendered (normalized) view (Caron et al. 2021, appendix; the
 * `DataAugmentationDINO` of facebookresearch/dino, after BYOL):
 *
 * - colour jitter's brightness and contrast (torchvision `ColorJitter`,
 *   strength s: factors uniform in [1 - s, 1 + s], applied with probability
 *   `jitterProb`; contrast blends with the view's mean intensity over all
 *   channels), clamped to [0, 1];
 * - solarization (torchvision `RandomSolarize(128)`): every pixel >= 0.5
 *   becomes 1 - v, with probability `solarizeProb`.
 *
 * Saturation and hue have no meaning on grey images and are left out. Work
 * is done in [0, 1] pixel space: the view is un-normalized with the same
 * {@link PixelMap} that normalized it, adjusted, and normalized again. With
 * both probabilities 0 no random number is drawn.
 */
import type { Rng } from "../prng.ts"
import type { PixelMap } from "./resizedCrop.ts"

export interface Photometric {
  /** Brightness and contrast strength s (DINO 0.4); 0 disables. */
  readonly jitter: number
  /** Probability of applying the jitter (DINO 0.8). */
  readonly jitterProb: number
  /** Probability of solarizing (DINO: 0.2 on the second global view, 0 elsewhere). */
  readonly solarizeProb: number
}

export const noPhotometric: Photometric = { jitter: 0, jitterProb: 0, solarizeProb: 0 }

const clamp01 = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v)

/** Adjusts the CHW view `dst[offset .. offset + channels·pixels)` in place. */
export const applyPhotometric = (
  rng: Rng,
  p: Photometric,
  map: PixelMap,
  dst: Float32Array,
  offset: number,
  channels: number,
  pixels: number,
): void => {
  const jitter = p.jitter > 0 && p.jitterProb > 0 && rng.float() < p.jitterProb
  const brightness = jitter ? rng.uniform(1 - p.jitter, 1 + p.jitter) : 1
  const contrast = jitter ? rng.uniform(Math.max(0, 1 - p.jitter), 1 + p.jitter) : 1
  const solarize = p.solarizeProb > 0 && rng.float() < p.solarizeProb
  if (!jitter && !solarize) return
  const toUnit = (c: number, v: number) => (v - (map.shift[c] as number)) / ((map.scale[c] as number) * 255)
  const fromUnit = (c: number, u: number) => u * (map.scale[c] as number) * 255 + (map.shift[c] as number)
  const n = channels * pixels
  const unit = new Float32Array(n)
  let sum = 0
  for (let c = 0; c < channels; c++) {
    for (let i = 0; i < pixels; i++) {
      const u = jitter ? clamp01(toUnit(c, dst[offset + c * pixels + i] as number) * brightness) : toUnit(c, dst[offset + c * pixels + i] as number)
      unit[c * pixels + i] = u
      sum += u
    }
  }
  const mean = sum / n
  for (let c = 0; c < channels; c++) {
    for (let i = 0; i < pixels; i++) {
      let u = unit[c * pixels + i] as number
      if (jitter) u = clamp01((u - mean) * contrast + mean)
      if (solarize && u >= 0.5) u = 1 - u
      dst[offset + c * pixels + i] = fromUnit(c, u)
    }
  }
}
