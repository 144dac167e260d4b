/**
 * The entry points of the ViT, shaped like timm's `forward_features`,
 * `forward_head` and `forward_intermediates`. Pure tensor functions: call
 * them inside `tf.tidy` (or dispose what they return).
 */
import * as tf from "@tensorflow/tfjs-core"
import { layerNorm } from "../ops/layerNorm.ts"
import { linear } from "../ops/linear.ts"
import { block } from "./block.ts"
import { embedTokens } from "./embed.ts"
import { param, type VitModel } from "./model.ts"

/** Images [B,C,H,W] -> final normed tokens [B, 1 + N, D] (class token first). */
export const forwardFeatures = (model: VitModel, images: tf.Tensor): tf.Tensor => {
  let x = embedTokens(model, images)
  for (let i = 0; i < model.config.depth; i++) x = block(model, i, x).x
  return layerNorm(x, param(model, "norm.weight"), param(model, "norm.bias"))
}

/** The class token of normed tokens [B, 1+N, D] -> [B, D] (timm `global_pool="token"`). */
export const poolClassToken = (tokens: tf.Tensor): tf.Tensor => {
  const [b, , d] = tokens.shape
  if (b === undefined || d === undefined) throw new TypeError(`poolClassToken: expected [B, N, D], got [${tokens.shape.join(", ")}]`)
  return tf.reshape(tf.slice(tokens, [0, 0, 0], [b, 1, d]), [b, d])
}

/**
 * Normed tokens -> logits [B, numClasses] (class-token pooling, linear head);
 * with `preLogits` or a model without head, the pooled features [B, D].
 */
export const forwardHead = (model: VitModel, tokens: tf.Tensor, options: { readonly preLogits?: boolean } = {}): tf.Tensor => {
  const pooled = poolClassToken(tokens)
  if (options.preLogits === true || model.config.numClasses === 0) return pooled
  return linear(pooled, param(model, "head.weight"), param(model, "head.bias"))
}

/** Images -> logits (or pooled features for a head-less model). */
export const forward = (model: VitModel, images: tf.Tensor): tf.Tensor => forwardHead(model, forwardFeatures(model, images))

export interface IntermediatesOptions {
  /** Blocks to return (negative counts from the end, as in timm); default all. */
  readonly indices?: ReadonlyArray<number>
  /** Also return each chosen block's attention weights [B, H, N, N]. */
  readonly attention?: boolean
}

export interface Intermediate {
  readonly block: number
  /** Block output tokens [B, 1+N, D] (before the final norm). */
  readonly tokens: tf.Tensor
  readonly attn?: tf.Tensor
}

export interface IntermediatesOutput {
  /** Final normed tokens [B, 1+N, D], input of {@link forwardHead}. */
  readonly features: tf.Tensor
  readonly intermediates: ReadonlyArray<Intermediate>
}

/** Resolves timm-style block indices (negative from the end) against a depth. */
export const resolveBlockIndices = (depth: number, indices?: ReadonlyArray<number>): ReadonlyArray<number> => {
  if (indices === undefined) return Array.from({ length: depth }, (_, i) => i)
  return indices.map((i) => {
    const j = i < 0 ? depth + i : i
    if (!Number.isInteger(j) || j < 0 || j >= depth) throw new RangeError(`block index ${i} is outside 0..${depth - 1}`)
    return j
  })
}

/** Final features plus per-block tokens and, on demand, attention maps of the chosen blocks. */
export const forwardIntermediates = (model: VitModel, images: tf.Tensor, options: IntermediatesOptions = {}): IntermediatesOutput => {
  const chosen = new Set(resolveBlockIndices(model.config.depth, options.indices))
  const intermediates: Array<Intermediate> = []
  let x = embedTokens(model, images)
  for (let i = 0; i < model.config.depth; i++) {
    const out = block(model, i, x)
    x = out.x
    if (chosen.has(i)) intermediates.push(options.attention === true ? { block: i, tokens: x, attn: out.attn } : { block: i, tokens: x })
  }
  return { features: layerNorm(x, param(model, "norm.weight"), param(model, "norm.bias")), intermediates }
}
