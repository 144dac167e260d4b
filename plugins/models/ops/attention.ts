/**
 * timm's ViT `Attention` (multi-head self-attention, Vaswani et al. 2017):
 * a fused qkv Linear, reshaped [B, N, 3, H, Dh] and permuted to
 * [3, B, H, N, Dh] (here as [B, 3·H, N, Dh], the same values); A = softmax(q·kᵀ · Dh^-0.5) of shape [B, H, N, N];
 * out = proj((A·v) merged back to [B, N, D]).
 */
import * as tf from "@tensorflow/tfjs-core"
import { linear } from "./linear.ts"
import { matmul, swapLastAxes } from "./matmul.ts"

export interface AttentionParams {
  readonly qkvWeight: tf.Tensor
  readonly qkvBias: tf.Tensor
  readonly projWeight: tf.Tensor
  readonly projBias: tf.Tensor
}

export interface AttentionOutput {
  readonly out: tf.Tensor
  /** Attention weights [B, H, N, N]; each row sums to 1. */
  readonly attn: tf.Tensor
}

export const attention = (x: tf.Tensor, p: AttentionParams, heads: number): AttentionOutput => {
  const [b, n, d] = x.shape
  if (b === undefined || n === undefined || d === undefined || d % heads !== 0) {
    throw new TypeError(`attention: input [${x.shape.join(", ")}] does not split into ${heads} heads`)
  }
  const dh = d / heads
  // [B, N, 3·H·Dh] viewed as [B, N, 3·H, Dh] (same order as timm's [B, N, 3, H, Dh]) and moved to
  // [B, 3·H, N, Dh]: a rank-4 transpose, which the wasm backend runs ~400x faster than a rank-5 one.
  const qkv = tf.transpose(tf.reshape(linear(x, p.qkvWeight, p.qkvBias), [b, n, 3 * heads, dh]), [0, 2, 1, 3])
  const [q, k, v] = tf.split(qkv, 3, 1)
  if (q === undefined || k === undefined || v === undefined) throw new TypeError("attention: qkv split failed")
  const attn = tf.softmax(matmul(tf.mul(q, dh ** -0.5), swapLastAxes(k)), -1)
  const merged = tf.reshape(tf.transpose(matmul(attn, v), [0, 2, 1, 3]), [b, n, d])
  return { out: linear(merged, p.projWeight, p.projBias), attn }
}
