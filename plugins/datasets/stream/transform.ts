/**
 * One image of the streaming reader, decoded and transformed with sharp:
 *
 * - `train`: torchvision's RandomResizedCrop box (`sampleResizedCrop`, scale
 *   and ratio as given) on the decoded size, resized to `size` x `size`
 *   (bilinear), flipped horizontally with probability `flip` (timm: 1/2);
 * - `eval`: the shorter side resized to `size / cropPct` (timm's eval
 *   transform, crop_pct 0.875: 256 for 224), then the centre `size` x `size`.
 *
 * The randomness comes from `Rng.derive(seed, epoch, index, 0x1a6e)`, so an
 * example's crop does not depend on which worker decodes it. Output: CHW
 * bytes, `channels` 3 (sRGB) or 1 (BT.601 luma by sharp's greyscale).
 */
import sharp from "sharp"
import { sampleResizedCrop } from "../augment/resizedCrop.ts"
import { Rng } from "../prng.ts"

/** What a worker needs to produce one example. */
export interface TransformJob {
  readonly file: string
  readonly mode: "train" | "eval"
  readonly size: number
  readonly channels: 1 | 3
  readonly seed: number
  readonly epoch: number
  readonly index: number
  readonly scale: readonly [number, number]
  readonly ratio: readonly [number, number]
  /** Probability of the horizontal flip (train). */
  readonly flip: number
  readonly cropPct: number
}

/** Decodes and transforms one file to CHW bytes (throws on an undecodable file). */
export const transformImage = async (job: TransformJob): Promise<Uint8Array> => {
  const input = sharp(job.file, { failOn: "error", sequentialRead: true })
  const meta = await input.metadata()
  const [h0, w0] = [meta.height ?? 0, meta.width ?? 0]
  const oriented = (meta.orientation ?? 1) >= 5 ? [w0, h0] : [h0, w0]
  const [height, width] = oriented as [number, number]
  if (height < 1 || width < 1) throw new Error(`no image size in the header`)
  let img = input.rotate()
  if (job.mode === "train") {
    const rng = Rng.derive(job.seed, job.epoch, job.index, 0x1a6e)
    const box = sampleResizedCrop(rng, height, width, job.scale, job.ratio)
    img = img.extract({ left: box.left, top: box.top, width: box.width, height: box.height }).resize(job.size, job.size, { fit: "fill", kernel: "linear" })
    if (rng.float() < job.flip) img = img.flop()
  } else {
    const k = Math.round(job.size / job.cropPct) / Math.min(height, width)
    const [rh, rw] = [Math.max(job.size, Math.round(height * k)), Math.max(job.size, Math.round(width * k))]
    img = img
      .resize(rw, rh, { fit: "fill", kernel: "linear" })
      .extract({ left: Math.floor((rw - job.size) / 2), top: Math.floor((rh - job.size) / 2), width: job.size, height: job.size })
  }
  img = job.channels === 1 ? img.greyscale() : img.removeAlpha().toColourspace("srgb")
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true })
  if (info.width !== job.size || info.height !== job.size || info.channels !== job.channels)
    throw new Error(`transformed to ${info.channels}x${info.height}x${info.width}, expected ${job.channels}x${job.size}x${job.size}`)
  const plane = job.size * job.size
  const out = new Uint8Array(job.channels * plane)
  for (let p = 0; p < plane; p++) for (let c = 0; c < job.channels; c++) out[c * plane + p] = data[p * job.channels + c] as number
  return out
}
