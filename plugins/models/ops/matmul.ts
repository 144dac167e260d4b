/**
 * The project's one matrix product. Every ViT product goes through here so a
 * faster kernel can replace it in one place.
 *
 * Its gradient transposes explicitly and then uses plain products
 * (dA = dY · Bᵀ, dB = Aᵀ · dY): on the wasm backend, tfjs's own MatMul
 * gradient uses `transposeA/transposeB` products, measured 10x slower there
 * than plain ones (cf. tfjs-core `gradients/BatchMatMul_grad.ts`). On the
 * `native` backend the opposite holds: oneDNN reads a transposed operand
 * through strides for free, so there {@link matmulT} passes transposes to the
 * kernel and its gradient uses transposed products, with no Transpose op.
 *
 * Operands are rank 2, or rank n > 2 with identical leading (batch) dims.
 */
import * as tf from "@tensorflow/tfjs-core"
import { nativeActive } from "../../../runtime/backend/kernels.ts"

/** Swaps the last two axes. */
export const swapLastAxes = (t: tf.Tensor): tf.Tensor => {
  const r = t.rank
  const perm = Array.from({ length: r }, (_, i) => i)
  perm[r - 2] = r - 1
  perm[r - 1] = r - 2
  return tf.transpose(t, perm)
}

const operands = (args: Array<tf.Tensor | tf.GradSaveFunc>): [tf.Tensor, tf.Tensor, tf.GradSaveFunc] => {
  const [a, b, save] = args
  if (!(a instanceof tf.Tensor) || !(b instanceof tf.Tensor) || typeof save !== "function") {
    throw new TypeError("matmul: expected (a: Tensor, b: Tensor)")
  }
  return [a, b, save]
}

const product = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [a, b, save] = operands(args)
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

/**
 * op(a) · op(b) with the transposes in the kernel, and gradients as transposed
 * products (for C = op(A)·op(B): dA = dC·op(B)ᵀ, or op(B)·dCᵀ when A is
 * transposed; likewise dB). For the native backend only.
 */
const transposedProduct = (transA: boolean, transB: boolean) =>
  tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [a, b, save] = operands(args)
    save([a, b])
    return {
      value: tf.matMul(a, b, transA, transB),
      gradFunc: (dy: tf.Tensor, saved: Array<tf.Tensor>) => {
        const [sa, sb] = saved
        if (sa === undefined || sb === undefined) throw new TypeError("matmul: saved operands missing")
        const da = transA ? tf.matMul(sb, dy, transB, true) : tf.matMul(dy, sb, false, !transB)
        const db = transB ? tf.matMul(dy, sa, true, transA) : tf.matMul(sa, dy, !transA, false)
        return [da, db]
      },
    }
  })

const transposed = [[transposedProduct(false, false), transposedProduct(false, true)], [transposedProduct(true, false), transposedProduct(true, true)]] as const

/** `a · b` over the last two axes, with a plain-product gradient (see module doc). */
export const matmul = (a: tf.Tensor, b: tf.Tensor): tf.Tensor => product(a, b)

/**
 * op(a) · op(b), op a swap of the last two axes where asked. On the native
 * backend the kernel reads transposed operands directly (forward and
 * backward); elsewhere the same as `matmul` of explicitly transposed operands.
 */
export const matmulT = (a: tf.Tensor, b: tf.Tensor, transA: boolean, transB: boolean): tf.Tensor =>
  nativeActive() && a.dtype === "float32" && b.dtype === "float32"
    ? transposed[transA ? 1 : 0][transB ? 1 : 0](a, b)
    : product(transA ? swapLastAxes(a) : a, transB ? swapLastAxes(b) : b)
