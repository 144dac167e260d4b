/**
 * MAE's forward pass (He et al. 2022, sec. 3; `forward_encoder`,
 * `forward_decoder` of `models_mae.py`):
 *
 * - encoder: patch tokens + position embedding, then only the VISIBLE patches
 *   (the loader's `keep` indices, ascending) with the class token go through
 *   the ViT blocks and the final norm;
 * - decoder: a linear map to the decoder width, the visible tokens and a
 *   shared `mask_token` for every removed patch put back in raster order
 *   ("unshuffle" by `ids_restore`), plus the decoder position embedding,
 *   the decoder blocks, norm, and a linear prediction of each patch's pixels.
 */
import * as tf from "@tensorflow/tfjs-core"
import { layerNorm } from "../../models/ops/layerNorm.ts"
import { linear } from "../../models/ops/linear.ts"
import { block } from "../../models/vit/block.ts"
import { embedTokens } from "../../models/vit/embed.ts"
import { param } from "../../models/vit/model.ts"
import type { MaeNetworks } from "./networks.ts"

/**
 * Rows `index[b, j]` of x [B, L, D] as [B, J, D], by a batched product with a
 * one-hot selection matrix [B, J, L]: its gradient is a matmul too (tfjs's
 * gather gradient needs UnsortedSegmentSum, which the wasm backend lacks).
 */
const gatherRows = (x: tf.Tensor, index: Int32Array, b: number, l: number, j: number): tf.Tensor => {
  const select = new Float32Array(b * j * l)
  index.forEach((v, i) => (select[i * l + v] = 1))
  return tf.matMul(tf.tensor3d(select, [b, j, l]), x)
}

/** For each image and patch, where the patch sits in `[visible ..., masked ...]`: MAE's `ids_restore`. */
export const restoreIndex = (mask: Uint8Array, b: number, l: number): Int32Array => {
  const out = new Int32Array(b * l)
  for (let i = 0; i < b; i++) {
    const visible = mask.subarray(i * l, (i + 1) * l).reduce((n, m) => n + (m === 0 ? 1 : 0), 0)
    let v = 0
    let m = visible
    for (let p = 0; p < l; p++) out[i * l + p] = mask[i * l + p] === 0 ? v++ : m++
  }
  return out
}

/**
 * The decoder's tokens in raster order [B, L, D]: each visible patch's token
 * (from `visible` [B, kept, D], in ascending patch order) back at its patch,
 * and `maskToken` [1, 1, D] at every masked one (`models_mae.py`'s
 * `torch.gather(cat([x, mask_tokens]), ids_restore)`). Built as one batched
 * product plus `mask ⊗ maskToken`, so the token's gradient is one masked sum
 * (broadcasting it to [B, L - kept, D] went through Tile, whose gradient is
 * one slice and one add per tile: 4,736 of each at batch 128).
 */
export const unshuffle = (visible: tf.Tensor, maskToken: tf.Tensor, mask: Uint8Array, b: number, l: number): tf.Tensor => {
  const kept = visible.shape[1] ?? 0
  const select = new Float32Array(b * l * kept)
  const isMasked = new Float32Array(b * l)
  const restore = restoreIndex(mask, b, l)
  for (let i = 0; i < b * l; i++) {
    const at = restore[i] ?? 0
    if (mask[i] === 0) select[i * kept + at] = 1
    else isMasked[i] = 1
  }
  return tf.add(tf.matMul(tf.tensor3d(select, [b, l, kept]), visible), tf.mul(tf.tensor3d(isMasked, [b, l, 1]), maskToken))
}

/** Pixel predictions [B, L, p·p·C] for every patch, from the visible ones. */
export const maeForward = (n: MaeNetworks, images: tf.Tensor, mask: Uint8Array, keep: Int32Array): tf.Tensor => {
  const [b = 0] = images.shape
  const tokens = embedTokens(n.encoder, images)
  const [, t = 0, d = 0] = tokens.shape
  const l = t - 1
  const kept = keep.length / b
  let x = tf.concat([tf.slice(tokens, [0, 0, 0], [b, 1, d]), gatherRows(tf.slice(tokens, [0, 1, 0], [b, l, d]), keep, b, l, kept)], 1)
  for (let i = 0; i < n.encoder.config.depth; i++) x = block(n.encoder, i, x).x
  x = layerNorm(x, param(n.encoder, "norm.weight"), param(n.encoder, "norm.bias"))
  const dec = (name: string) => {
    const v = n.decoderParams.get(name)
    if (v === undefined) throw new RangeError(`MAE decoder has no parameter "${name}"`)
    return v
  }
  const y = linear(x, dec("decoder_embed.weight"), dec("decoder_embed.bias"))
  const dd = y.shape[2] ?? 0
  const unshuffled = unshuffle(tf.slice(y, [0, 1, 0], [b, kept, dd]), dec("mask_token"), mask, b, l)
  let z = tf.add(tf.concat([tf.slice(y, [0, 0, 0], [b, 1, dd]), unshuffled], 1), dec("decoder_pos_embed"))
  for (let i = 0; i < n.decoder.config.depth; i++) z = block(n.decoder, i, z).x
  z = layerNorm(z, dec("decoder_norm.weight"), dec("decoder_norm.bias"))
  const pred = linear(z, dec("decoder_pred.weight"), dec("decoder_pred.bias"))
  return tf.slice(pred, [0, 1, 0], [b, l, pred.shape[2] ?? 0])
}
