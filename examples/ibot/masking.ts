/**
 * iBOT's masks (Zhou et al. 2022, "iBOT: Image BERT Pre-Training with Online
 * Tokenizer", sec. 3 and appendix; `ImageFolderMask` in bytedance/ibot,
 * `pred_shape="block"`): per image and global crop, a prediction ratio drawn
 * from `ratios` (the official recipe `--pred_ratio 0 0.3 --pred_ratio_var 0
 * 0.2`: half the images unmasked, half masked with a ratio uniform in
 * [0.1, 0.5]), then BEiT's blockwise masking: rectangles of log-uniform
 * aspect ratio in [0.3, 1/0.3] and area at least (min(H, W) // 3)^2
 * patches, added until the ratio's patch count is reached.
 *
 * Written against the public pieces only (the seeded `Rng` of the datasets
 * plugin): no library file knows about iBOT.
 */
import type { Rng } from "../../plugins/index.ts"

/** One prediction-ratio choice: `ratio ± variance` (uniform), as iBOT's `pred_ratio` / `pred_ratio_var` pairs. */
export interface PredRatio {
  readonly ratio: number
  readonly variance: number
}

/** The official iBOT ViT recipe: no masking, or a ratio uniform in [0.1, 0.5], with equal probability. */
export const officialRatios: ReadonlyArray<PredRatio> = [{ ratio: 0, variance: 0 }, { ratio: 0.3, variance: 0.2 }]

const uniform = (rng: Rng, lo: number, hi: number): number => lo + (hi - lo) * rng.float()

/** The ratio of one image: one of `ratios` at random, then uniform within its variance. */
export const drawRatio = (rng: Rng, ratios: ReadonlyArray<PredRatio>): number => {
  const r = ratios[ratios.length === 1 ? 0 : rng.int(ratios.length)] ?? { ratio: 0, variance: 0 }
  return r.variance > 0 ? uniform(rng, r.ratio - r.variance, r.ratio + r.variance) : r.ratio
}

/**
 * BEiT/iBOT blockwise masking of an `h` x `w` patch grid into `out[offset ..
 * offset + h*w)` (1: masked), row-major, for `ratio` of the patches
 * (rounded down, as `int(ratio * H * W)`). Returns how many patches it masked.
 */
export const blockMask = (rng: Rng, h: number, w: number, ratio: number, out: Uint8Array, offset = 0): number => {
  const high = Math.floor(ratio * h * w)
  const low = Math.floor(Math.min(h, w) / 3) ** 2
  const logLo = Math.log(0.3)
  const logHi = Math.log(1 / 0.3)
  let count = 0
  while (count < high) {
    const budget = high - count
    let delta = 0
    for (let attempt = 0; attempt < 10; attempt++) {
      const area = uniform(rng, low, budget)
      const aspect = Math.exp(uniform(rng, logLo, logHi))
      const bh = Math.round(Math.sqrt(area * aspect))
      const bw = Math.round(Math.sqrt(area / aspect))
      if (bh < h && bw < w && bh > 0 && bw > 0) {
        const top = rng.int(h - bh + 1)
        const left = rng.int(w - bw + 1)
        let already = 0
        for (let i = top; i < top + bh; i++) for (let j = left; j < left + bw; j++) already += out[offset + i * w + j] ?? 0
        const fresh = bh * bw - already
        if (fresh > 0 && fresh <= budget) {
          for (let i = top; i < top + bh; i++) for (let j = left; j < left + bw; j++) out[offset + i * w + j] = 1
          delta += fresh
        }
      }
      if (delta > 0) break
    }
    if (delta === 0) break
    count += delta
  }
  return count
}

/** Masks of `images` images on an `h` x `w` grid: `[images * h * w]`, image-major; each image's ratio from {@link drawRatio}. */
export const batchMasks = (rng: Rng, images: number, h: number, w: number, ratios: ReadonlyArray<PredRatio>): Uint8Array => {
  const out = new Uint8Array(images * h * w)
  for (let b = 0; b < images; b++) blockMask(rng, h, w, drawRatio(rng, ratios), out, b * h * w)
  return out
}
