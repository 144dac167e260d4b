/**
 * timm's pre-norm transformer `Block`:
 *   x = x + attn(norm1(x));  x = x + mlp(norm2(x))
 * with mlp = fc2(GELU(fc1(·))) (no layer scale, no drop path at inference).
 */
import * as tf from "@tensorflow/tfjs-core"
import { attention } from "../ops/attention.ts"
import { gelu } from "../ops/gelu.ts"
import { layerNorm } from "../ops/layerNorm.ts"
import { linear } from "../ops/linear.ts"
import { param, type VitModel } from "./model.ts"

export interface BlockOutput {
  readonly x: tf.Tensor
  /** Attention weights [B, H, N, N] of this block. */
  readonly attn: tf.Tensor
}

export const block = (model: VitModel, index: number, x: tf.Tensor): BlockOutput => {
  const p = (name: string) => param(model, `blocks.${index}.${name}`)
  const a = attention(layerNorm(x, p("norm1.weight"), p("norm1.bias")), {
    qkvWeight: p("attn.qkv.weight"),
    qkvBias: p("attn.qkv.bias"),
    projWeight: p("attn.proj.weight"),
    projBias: p("attn.proj.bias"),
  }, model.config.numHeads)
  const x1 = tf.add(x, a.out)
  const hidden = gelu(linear(layerNorm(x1, p("norm2.weight"), p("norm2.bias")), p("mlp.fc1.weight"), p("mlp.fc1.bias")))
  return { x: tf.add(x1, linear(hidden, p("mlp.fc2.weight"), p("mlp.fc2.bias"))), attn: a.attn }
}
