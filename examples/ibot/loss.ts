/**
 * iBOT's masked-image-modeling term (Zhou et al. 2022, eq. 2; `iBOTLoss` in
 * bytedance/ibot `main_ibot.py`): for each global crop, the student sees the
 * crop with masked patches replaced by a learned [MASK] embedding and
 * predicts, at every masked patch, the teacher's distribution over the
 * prototypes for the same patch of the unmasked crop (the "online
 * tokenizer"):
 *
 *   L_MIM = 1/V Σ_v mean_b [ Σ_n m_bn H(P_t(u_bn), P_s(û_bn)) / max(1, Σ_n m_bn) ]
 *   P_t = softmax((g_t - c') / τ'_t),  P_s = softmax(g_s / τ_s)
 *   c' ← m c' + (1 - m) mean_{b,n} g_t                          (patch center)
 *
 * V global crops, B images, N patches, K prototypes; m the mask (1: masked);
 * an image with no masked patch contributes 0 (iBOT's `clamp(min=1)`).
 * The class-token term is DINO's loss, used as is (`objectives/dino.ts`).
 */
import * as tf from "@tensorflow/tfjs-core"
import { stopGradient } from "../../plugins/index.ts"

export interface PatchLossOptions {
  /** τ'_t at this epoch. */
  readonly teacherTemp: number
  /** τ_s (iBOT: 0.1). */
  readonly studentTemp: number
}

const check = (what: string, shape: ReadonlyArray<number>, expected: ReadonlyArray<number>): void => {
  if (shape.length !== expected.length || shape.some((d, i) => d !== expected[i])) {
    throw new TypeError(`ibotPatchLoss: ${what} has shape [${shape.join(", ")}]; expected [${expected.join(", ")}]`)
  }
}

/**
 * The masked patch loss, a scalar. `student`, `teacher`: projected patch
 * tokens [V, B, N, K]; `mask`: [V, B, N] (0/1); `center`: [1, K]. Gradients
 * flow into `student` only.
 */
export const ibotPatchLoss = (student: tf.Tensor, teacher: tf.Tensor, mask: tf.Tensor, center: tf.Tensor, o: PatchLossOptions): tf.Scalar => {
  const [v = 0, b = 0, n = 0, k = 0] = student.shape
  check("student", student.shape, [v, b, n, k])
  check("teacher", teacher.shape, [v, b, n, k])
  check("mask", mask.shape, [v, b, n])
  check("center", center.shape, [1, k])
  return tf.tidy(() => {
    const logP = tf.logSoftmax(tf.div(student, o.studentTemp), -1)
    const q = stopGradient(tf.softmax(tf.div(tf.sub(teacher, tf.reshape(center, [1, 1, 1, k])), o.teacherTemp), -1))
    const h = tf.neg(tf.sum(tf.mul(q, logP), -1)) // [V, B, N]
    const m = stopGradient(tf.cast(mask, "float32"))
    const perImage = tf.div(tf.sum(tf.mul(h, m), -1), tf.maximum(tf.sum(m, -1), 1)) // [V, B]
    return tf.mean(perImage) as tf.Scalar
  })
}

/** The patch center's EMA update: `c' = m c + (1 - m) mean over views, images and patches of teacher` ([V, B, N, K] -> [1, K]). */
export const updatePatchCenter = (center: tf.Tensor, teacher: tf.Tensor, momentum: number): tf.Tensor =>
  tf.tidy(() => {
    const k = teacher.shape[teacher.rank - 1] ?? 0
    const batch = tf.reshape(tf.mean(tf.reshape(teacher, [-1, k]), 0), [1, k])
    return tf.add(tf.mul(center, momentum), tf.mul(batch, 1 - momentum))
  })
