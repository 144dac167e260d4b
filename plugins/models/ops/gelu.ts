/**
 * Exact GELU (Hendrycks & Gimpel 2016): x · Φ(x) = 0.5 · x · (1 + erf(x / √2)),
 * PyTorch's `nn.GELU()` default (approximate="none"), not the tanh form.
 * tfjs's erf is accurate to about 1.5e-7 (Abramowitz & Stegun 7.1.26).
 */
import * as tf from "@tensorflow/tfjs-core"

export const gelu = (x: tf.Tensor): tf.Tensor =>
  tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1))
