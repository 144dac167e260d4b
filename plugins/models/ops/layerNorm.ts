/**
 * Layer normalisation over the last axis (Ba et al. 2016), as PyTorch's
 * `nn.LayerNorm(eps=1e-6)` that timm's ViT uses: biased variance,
 * y = (x - mean) / sqrt(var + eps) * weight + bias. Differentiated by tfjs
 * autodiff through these primitives.
 */
import * as tf from "@tensorflow/tfjs-core"

/** timm's ViT LayerNorm epsilon (`partial(nn.LayerNorm, eps=1e-6)`). */
export const vitLayerNormEps = 1e-6

export const layerNorm = (x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor, eps: number = vitLayerNormEps): tf.Tensor => {
  const mean = tf.mean(x, -1, true)
  const centered = tf.sub(x, mean)
  const variance = tf.mean(tf.square(centered), -1, true)
  const normed = tf.mul(centered, tf.rsqrt(tf.add(variance, eps)))
  return tf.add(tf.mul(normed, weight), bias)
}
