/**
 * timm's `PatchEmbed`: a p×p convolution with stride p, written as a matrix
 * product (im2col by reshape/transpose, no conv op):
 *   [B,C,H,W] -> [B,C,Gh,p,Gw,p] -> [B,Gh,Gw,C,p,p] -> [B·Gh·Gw, C·p·p] · Wᵀ + b
 * with W the conv weight [D,C,p,p] flattened to [D, C·p·p] (PyTorch layout).
 * Returns tokens [B, Gh·Gw, D] in row-major grid order, like timm's
 * `flatten(2).transpose(1, 2)`.
 */
import * as tf from "@tensorflow/tfjs-core"
import { linear } from "./linear.ts"

export const patchEmbed = (images: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor): tf.Tensor => {
  const [b, c, h, w] = images.shape
  const [d, wc, p] = weight.shape
  if (b === undefined || c === undefined || h === undefined || w === undefined || d === undefined || p === undefined || wc !== c) {
    throw new TypeError(`patchEmbed: images [${images.shape.join(", ")}] do not fit weight [${weight.shape.join(", ")}]`)
  }
  const gh = h / p
  const gw = w / p
  const blocks = tf.reshape(images, [b, c, gh, p, gw, p])
  const cols = tf.reshape(tf.transpose(blocks, [0, 2, 4, 1, 3, 5]), [b * gh * gw, c * p * p])
  const tokens = linear(cols, tf.reshape(weight, [d, c * p * p]), bias)
  return tf.reshape(tokens, [b, gh * gw, d])
}
