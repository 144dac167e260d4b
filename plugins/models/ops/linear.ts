/**
 * A fully connected layer with PyTorch's weight layout, as in `nn.Linear`:
 * y = x · Wᵀ + b with W of shape [out, in] (so timm checkpoints load as they
 * are). Leading axes of x are flattened into one batch axis. On the native
 * backend Wᵀ is read through strides (no Transpose, forward or backward).
 */
import * as tf from "@tensorflow/tfjs-core"
import { matmulT } from "./matmul.ts"

export const linear = (x: tf.Tensor, weight: tf.Tensor, bias?: tf.Tensor): tf.Tensor => {
  const [outFeatures, inFeatures] = weight.shape
  if (outFeatures === undefined || inFeatures === undefined || weight.rank !== 2) {
    throw new TypeError(`linear: weight must be [out, in], got [${weight.shape.join(", ")}]`)
  }
  const lead = x.shape.slice(0, -1)
  const flat = tf.reshape(x, [-1, inFeatures])
  const y = matmulT(flat, weight, false, true)
  const withBias = bias === undefined ? y : tf.add(y, bias)
  return tf.reshape(withBias, [...lead, outFeatures])
}
