/**
 * A fully connected layer with PyTorch's weight layout, as in `nn.Linear`:
 * y = x · Wᵀ + b with W of shape [out, in] (so timm checkpoints load as they
 * are). Leading axes of x are flattened into one batch axis. On the native
 * backend Wᵀ is read through strides (no Transpose, forward or backward), and
 * with a bias one fused kernel adds it inside the product (no Add pass); its
 * gradient is the same transposed products plus the bias gradient's Sum.
 */
import * as tf from "@tensorflow/tfjs-core"
import { fusedKernelNames, hasFusedKernel, runKernel } from "../../../runtime/backend/kernels.ts"
import { matmulT } from "./matmul.ts"

/** x [rows, in] · Wᵀ + b in one native kernel; gradients dx = dy · W, dW = dyᵀ · x, db = Σ_rows dy. */
const fusedLinear = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [x, weight, bias, save] = args
  if (!(x instanceof tf.Tensor) || !(weight instanceof tf.Tensor) || !(bias instanceof tf.Tensor) || typeof save !== "function") {
    throw new TypeError("linear: expected (x, weight, bias)")
  }
  save([x, weight])
  return {
    value: runKernel(fusedKernelNames.linear, { x, weight, bias }),
    gradFunc: (dy: tf.Tensor, [sx, sw]: Array<tf.Tensor>) => [tf.matMul(dy, sw!, false, false), tf.matMul(dy, sx!, true, false), tf.sum(dy, 0)],
  }
}) as (x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor) => tf.Tensor

const canFuse = (flat: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor, outFeatures: number): boolean =>
  flat.size > 0 && bias.rank === 1 && bias.shape[0] === outFeatures && flat.dtype === "float32" && weight.dtype === "float32" &&
  bias.dtype === "float32" && hasFusedKernel(fusedKernelNames.linear)

export const linear = (x: tf.Tensor, weight: tf.Tensor, bias?: tf.Tensor): tf.Tensor => {
  const [outFeatures, inFeatures] = weight.shape
  if (outFeatures === undefined || inFeatures === undefined || weight.rank !== 2) {
    throw new TypeError(`linear: weight must be [out, in], got [${weight.shape.join(", ")}]`)
  }
  const lead = x.shape.slice(0, -1)
  const flat = tf.reshape(x, [-1, inFeatures])
  if (bias !== undefined && canFuse(flat, weight, bias, outFeatures)) return tf.reshape(fusedLinear(flat, weight, bias), [...lead, outFeatures])
  const y = matmulT(flat, weight, false, true)
  const withBias = bias === undefined ? y : tf.add(y, bias)
  return tf.reshape(withBias, [...lead, outFeatures])
}
