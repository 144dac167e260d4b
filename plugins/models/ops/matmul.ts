/**
 * The project's one matrix product. Every ViT product goes through here so a
 * faster kernel can replace it in one place.
 *
 * Its gradient transposes explicitly and then uses plain products
 * (dA = dY · Bᵀ, dB = Aᵀ · dY): on the wasm backend, tfjs's own MatMul
 * gradient uses `transposeA/transposeB` products, measured 10x slower there
 * than plain ones (cf. tfjs-core `gradients/BatchMatMul_grad.ts`).
 *
 * Operands are rank 2, or rank n > 2 with identical leading (batch) dims.
 */
import * as tf from "@tensorflow/tfjs-core"

/** Swaps the last two axes. */
export const swapLastAxes = (t: tf.Tensor): tf.Tensor => {
  const r = t.rank
  const perm = Array.from({ length: r }, (_, i) => i)
  perm[r - 2] = r - 1
  perm[r - 1] = r - 2
  return tf.transpose(t, perm)
}

const product = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [a, b, save] = args
  if (!(a instanceof tf.Tensor) || !(b instanceof tf.Tensor) || typeof save !== "function") {
    throw new TypeError("matmul: expected (a: Tensor, b: Tensor)")
  }
  save([a, b])
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor, saved: Array<tf.Tensor>) => {
      const [sa, sb] = saved
      if (sa === undefined || sb === undefined) throw new TypeError("matmul: saved operands missing")
      return [tf.matMul(dy, swapLastAxes(sb)), tf.matMul(swapLastAxes(sa), dy)]
    },
  }
})

/** `a · b` over the last two axes, with a plain-product gradient (see module doc). */
export const matmul = (a: tf.Tensor, b: tf.Tensor): tf.Tensor => product(a, b)
