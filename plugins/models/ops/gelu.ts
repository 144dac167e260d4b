/**
 * Exact GELU (Hendrycks & Gimpel 2016): x · Φ(x) = 0.5 · x · (1 + erf(x / √2)),
 * PyTorch's `nn.GELU()` default (approximate="none"), not the tanh form.
 * tfjs's erf is accurate to about 1.5e-7 (Abramowitz & Stegun 7.1.26).
 * On the native backend one fused kernel each way (same erf formula):
 * dx = dy · (Φ(x) + x · φ(x)).
 */
import * as tf from "@tensorflow/tfjs-core"
import { fusedKernelNames, hasFusedKernel, runKernel } from "../../../runtime/backend/kernels.ts"

const fused = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [x, save] = args
  if (!(x instanceof tf.Tensor) || typeof save !== "function") throw new TypeError("gelu: expected (x: Tensor)")
  save([x])
  return {
    value: runKernel(fusedKernelNames.gelu, { x }),
    gradFunc: (dy: tf.Tensor, [sx]: Array<tf.Tensor>) => runKernel(fusedKernelNames.geluGrad, { dy, x: sx! }),
  }
})

export const gelu = (x: tf.Tensor): tf.Tensor =>
  x.dtype === "float32" && x.size > 0 && hasFusedKernel(fusedKernelNames.gelu)
    ? fused(x)
    : tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1))
