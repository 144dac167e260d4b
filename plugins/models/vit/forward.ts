/**
 * The entry points of the ViT, shaped like timm's `forward_features`,
 * `forward_head` and `forward_intermediates`. Pure tensor functions: call
 * them inside `tf.tidy` (or dispose what they return).
 */
import * as tf from "@tensorflow/tfjs-core"
import { layerNorm } from "../ops/layerNorm.ts"
import { linear } from "../ops/linear.ts"
import { block } from "./block.ts"
import { globalPoolOf } from "./config.ts"
import { embedTokens } from "./embed.ts"
import { param, type VitModel } from "./model.ts"

/**
 * The final `norm` on the last block's tokens [B, 1+N, D]: LayerNorm under
 * class-token pooling, the identity under average pooling (timm's
 * `nn.Identity` when `fc_norm` is used; the pooled token is normed by
 * `fc_norm` in {@link forwardHead} instead).
 */
export const finalNorm = (model: VitModel, x: tf.Tensor): tf.Tensor =>
  globalPoolOf(model.config) === "avg" ? x : layerNorm(x, param(model, "norm.weight"), param(model, "norm.bias"))

/** Images [B,C,H,W] -> final tokens [B, 1 + N, D] (class token first), after {@link finalNorm}. */
export const forwardFeatures = (model: VitModel, images: tf.Tensor): tf.Tensor => {
  let x = embedTokens(model, images)
  for (let i = 0; i < model.config.depth; i++) x = block(model, i, x).x
  return finalNorm(model, x)
}

/** The class token of normed tokens [B, 1+N, D] -> [B, D] (timm `global_pool="token"`). */
export const poolClassToken = (tokens: tf.Tensor): tf.Tensor => {
  const [b, , d] = tokens.shape
  if (b === undefined || d === undefined) throw new TypeError(`poolClassToken: expected [B, N, D], got [${tokens.shape.join(", ")}]`)
  return tf.reshape(tf.slice(tokens, [0, 0, 0], [b, 1, d]), [b, d])
}

/** The mean of the patch tokens of [B, 1+N, D], class token excluded -> [B, D] (timm `global_pool="avg"`, `x[:, 1:].mean(1)`). */
export const poolPatchMean = (tokens: tf.Tensor): tf.Tensor => {
  const [b, t, d] = tokens.shape
  if (b === undefined || t === undefined || t < 2 || d === undefined) throw new TypeError(`poolPatchMean: expected [B, 1 + N, D] with N >= 1, got [${tokens.shape.join(", ")}]`)
  return tf.mean(tf.slice(tokens, [0, 1, 0], [b, t - 1, d]), 1)
}

/** timm's `pool` + `fc_norm`: the class token, or the patch mean through `fc_norm` -> [B, D]. */
export const poolTokens = (model: VitModel, tokens: tf.Tensor): tf.Tensor =>
  globalPoolOf(model.config) === "avg"
    ? layerNorm(poolPatchMean(tokens), param(model, "fc_norm.weight"), param(model, "fc_norm.bias"))
    : poolClassToken(tokens)

/**
 * Tokens from {@link forwardFeatures} -> logits [B, numClasses] (pooling by
 * the config's `globalPool`, linear head); with `preLogits` or a model
 * without head, the pooled features [B, D].
 */
export const forwardHead = (model: VitModel, tokens: tf.Tensor, options: { readonly preLogits?: boolean } = {}): tf.Tensor => {
  const pooled = poolTokens(model, tokens)
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
  /** Final tokens [B, 1+N, D] (after {@link finalNorm}), input of {@link forwardHead}. */
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
  return { features: finalNorm(model, x), intermediates }
}
