/**
 * Random resized crop, horizontal flip and normalization, fused into one
 * bilinear resampling pass from CHW bytes to normalized CHW floats.
 *
 * Crop sampling follows torchvision's `RandomResizedCrop.get_params`: up to
 * 10 tries of an area fraction uniform in `scale` and a log-uniform aspect
 * ratio in `ratio`, integer boxes, then a centre crop fallback. Resampling is
 * bilinear with half-pixel centres (`align_corners=False`), edges clamped to
 * the box: the same as cropping and then resizing (tf.image.resizeBilinear
 * with `halfPixelCenters`, torchvision `resized_crop` without antialias).
 */
import type { Rng } from "../prng.ts"

/** An integer crop box in source pixels. */
export interface CropBox {
  readonly top: number
  readonly left: number
  readonly height: number
  readonly width: number
}

/** The whole image. */
export const fullBox = (height: number, width: number): CropBox => ({ top: 0, left: 0, height, width })

/** Samples a crop box like torchvision's RandomResizedCrop. */
export const sampleResizedCrop = (
  rng: Rng,
  height: number,
  width: number,
  scale: readonly [number, number],
  ratio: readonly [number, number],
): CropBox => {
  const area = height * width
  const logLo = Math.log(ratio[0])
  const logHi = Math.log(ratio[1])
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * rng.uniform(scale[0], scale[1])
    const aspect = Math.exp(rng.uniform(logLo, logHi))
    const w = Math.round(Math.sqrt(target * aspect))
    const h = Math.round(Math.sqrt(target / aspect))
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const top = rng.int(height - h + 1)
      const left = rng.int(width - w + 1)
      return { top, left, height: h, width: w }
    }
  }
  const inRatio = width / height
  let w = width
  let h = height
  if (inRatio < ratio[0]) h = Math.round(width / ratio[0])
  else if (inRatio > ratio[1]) w = Math.round(height * ratio[1])
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w }
}

/** Per-channel affine map from a byte to a normalized float: `(v / 255 - mean) / std`. */
export interface PixelMap {
  readonly scale: Float32Array
  readonly shift: Float32Array
}

/** The pixel map of a normalization. */
export const pixelMap = (mean: ReadonlyArray<number>, std: ReadonlyArray<number>): PixelMap => ({
  scale: Float32Array.from(std, (s) => 1 / (255 * s)),
  shift: Float32Array.from(mean, (m, i) => -m / (std[i] as number)),
})

/** Source sample positions and weights along one axis, reused across channels. */
const axis = (start: number, extent: number, outLen: number, flip: boolean) => {
  const i0 = new Int32Array(outLen)
  const i1 = new Int32Array(outLen)
  const wt = new Float32Array(outLen)
  const step = extent / outLen
  for (let o = 0; o < outLen; o++) {
    const k = flip ? outLen - 1 - o : o
    let s = start + (k + 0.5) * step - 0.5
    // Clamp to the box, as cropping first and then resizing does (torchvision's resized_crop).
    if (s < start) s = start
    if (s > start + extent - 1) s = start + extent - 1
    const f = Math.floor(s)
    i0[o] = f
    i1[o] = Math.min(f + 1, start + extent - 1)
    wt[o] = s - f
  }
  return { i0, i1, wt }
}

/**
 * Resamples `box` of the CHW byte image at `src[srcOffset..]` to `outH x outW`
 * (mirrored when `flip`), normalizes it, and writes CHW floats at
 * `dst[dstOffset..]`.
 */
export const renderCrop = (
  src: Uint8Array,
  srcOffset: number,
  channels: number,
  height: number,
  width: number,
  box: CropBox,
  flip: boolean,
  outH: number,
  outW: number,
  map: PixelMap,
  dst: Float32Array,
  dstOffset: number,
): void => {
  const ys = axis(box.top, box.height, outH, false)
  const xs = axis(box.left, box.width, outW, flip)
  const plane = height * width
  for (let c = 0; c < channels; c++) {
    const a = map.scale[c] as number
    const b = map.shift[c] as number
    const base = srcOffset + c * plane
    let d = dstOffset + c * outH * outW
    for (let oy = 0; oy < outH; oy++) {
      const r0 = base + (ys.i0[oy] as number) * width
      const r1 = base + (ys.i1[oy] as number) * width
      const wy = ys.wt[oy] as number
      for (let ox = 0; ox < outW; ox++, d++) {
        const x0 = xs.i0[ox] as number
        const x1 = xs.i1[ox] as number
        const wx = xs.wt[ox] as number
        const top = (src[r0 + x0] as number) + wx * ((src[r0 + x1] as number) - (src[r0 + x0] as number))
        const bot = (src[r1 + x0] as number) + wx * ((src[r1 + x1] as number) - (src[r1 + x0] as number))
        dst[d] = (top + wy * (bot - top)) * a + b
      }
    }
  }
}
