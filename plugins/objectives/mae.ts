/**
 * The MAE reconstruction loss (He et al. 2022, "Masked Autoencoders Are
 * Scalable Vision Learners", sec. 3 "Reconstruction target"; `forward_loss`
 * in facebookresearch/mae `models_mae.py`):
 *
 *   target = patchify(images)                          [N, L, p·p·C]
 *   target = (target - mean) / √(var + 1e-6)           if normPixLoss (per patch;
 *                                                      var unbiased, as torch's `var`)
 *   loss   = Σ_{n,l} mask · mean_d (pred - target)² / Σ mask
 *
 * averaged over the MASKED patches only (mask 1 = removed, 0 = visible), so
 * predictions at visible patches get an exactly zero gradient. A mask with
 * no masked patch gives 0/0 = NaN, as in the reference; {@link maskTensor}
 * refuses such masks on the host side.
 */
import * as tf from "@tensorflow/tfjs-core"
import { InvalidObjectiveConfig, ShapeMismatch, shapeText } from "./errors.ts"
import { checkPatchify, patchify } from "./patchify.ts"

export interface MaeLossOptions {
  readonly patchSize: number
  /** Normalize each target patch by its mean and std (MAE's `norm_pix_loss`; default false). */
  readonly normPixLoss?: boolean
}

/** Why these shapes cannot go into {@link maeLoss}, or `undefined`. */
export const checkMaeLoss = (
  images: ReadonlyArray<number>,
  pred: ReadonlyArray<number>,
  mask: ReadonlyArray<number>,
  o: MaeLossOptions,
): ShapeMismatch | InvalidObjectiveConfig | undefined => {
  const op = "maeLoss"
  const p = o.patchSize
  if (!Number.isInteger(p) || p < 1) return new InvalidObjectiveConfig({ op, field: "patchSize", value: p, expected: "an integer >= 1" })
  const bad = checkPatchify(images, p, op)
  if (bad !== undefined) return bad
  const [n = 0, c = 0, h = 0, w = 0] = images
  const l = (h / p) * (w / p)
  const d = p * p * c
  if (o.normPixLoss === true && d < 2) {
    return new InvalidObjectiveConfig({ op, field: "patchSize", value: p, expected: `p·p·C >= 2 for normPixLoss (the per-patch variance needs 2 values; C = ${c})` })
  }
  const want = [n, l, d]
  if (pred.length !== 3 || pred.some((x, i) => x !== want[i])) {
    return new ShapeMismatch({ op, field: "pred", shape: pred, expected: `${shapeText(want)} (patchify of images ${shapeText(images)} with patchSize ${p})` })
  }
  if (mask.length !== 2 || mask[0] !== n || mask[1] !== l) {
    return new ShapeMismatch({ op, field: "mask", shape: mask, expected: `[${n}, ${l}] (images ${shapeText(images)}, patchSize ${p})` })
  }
  return undefined
}

/**
 * The MAE loss, a scalar. `images` [N, C, H, W] (the un-masked input, in the
 * model's pixel normalization), `pred` [N, L, p·p·C] (the decoder's output for
 * every patch), `mask` [N, L] (1 = masked). Throws {@link ShapeMismatch} /
 * {@link InvalidObjectiveConfig}.
 */
export const maeLoss = (images: tf.Tensor, pred: tf.Tensor, mask: tf.Tensor, o: MaeLossOptions): tf.Scalar => {
  const bad = checkMaeLoss(images.shape, pred.shape, mask.shape, o)
  if (bad !== undefined) throw bad
  return tf.tidy(() => {
    let target = patchify(images, o.patchSize)
    if (o.normPixLoss === true) {
      const d = target.shape[2] ?? 1
      const mean = tf.mean(target, -1, true)
      const centered = tf.sub(target, mean)
      const variance = tf.div(tf.sum(tf.square(centered), -1, true), d - 1)
      target = tf.div(centered, tf.sqrt(tf.add(variance, 1e-6)))
    }
    const perPatch = tf.mean(tf.square(tf.sub(pred, target)), -1)
    const m = tf.cast(mask, "float32")
    return tf.div(tf.sum(tf.mul(perPatch, m)), tf.sum(m))
  })
}

/** A batch's patch mask from the loader (`mask[b · L + l]`, 1 = masked). */
export interface HostPatchMask {
  readonly mask: Uint8Array
  readonly numPatches: number
  readonly numMasked: number
}

/**
 * The loader's mask as a float32 tensor [N, L]. Throws
 * {@link InvalidObjectiveConfig} when nothing is masked (the loss would be NaN)
 * and {@link ShapeMismatch} when the buffer is not N x L.
 */
export const maskTensor = (m: HostPatchMask): tf.Tensor2D => {
  const op = "maskTensor"
  if (!(m.numMasked >= 1)) throw new InvalidObjectiveConfig({ op, field: "numMasked", value: m.numMasked, expected: ">= 1 (MAE averages over masked patches)" })
  if (m.numPatches < 1 || m.mask.length % m.numPatches !== 0) {
    throw new ShapeMismatch({ op, field: "mask", shape: [m.mask.length], expected: `a multiple of numPatches (${m.numPatches})` })
  }
  return tf.tensor2d(Float32Array.from(m.mask), [m.mask.length / m.numPatches, m.numPatches])
}
