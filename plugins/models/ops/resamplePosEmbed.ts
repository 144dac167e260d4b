/**
 * timm's `resample_abs_pos_embed` (timm/layers/pos_embed.py) with
 * interpolation="bilinear": the grid part of a learned position embedding
 * [1, prefix + Gh0·Gw0, D] is resized bilinearly to a new grid, the prefix
 * (class) tokens kept. Half-pixel centres, no corner alignment: PyTorch's
 * `F.interpolate(..., mode="bilinear", align_corners=False)`. (timm's default
 * is bicubic with antialias; for upsampling, antialias changes nothing.)
 */
import * as tf from "@tensorflow/tfjs-core"

export interface Grid {
  readonly h: number
  readonly w: number
}

export const resamplePosEmbed = (posEmbed: tf.Tensor, from: Grid, to: Grid, prefixTokens = 1): tf.Tensor => {
  if (from.h === to.h && from.w === to.w) return posEmbed
  const d = posEmbed.shape[2]
  if (d === undefined || posEmbed.shape[1] !== prefixTokens + from.h * from.w) {
    throw new TypeError(`resamplePosEmbed: pos_embed [${posEmbed.shape.join(", ")}] is not a ${from.h}x${from.w} grid plus ${prefixTokens} prefix token(s)`)
  }
  const prefix = tf.slice(posEmbed, [0, 0, 0], [1, prefixTokens, d])
  const grid = tf.reshape<tf.Rank.R4>(tf.slice(posEmbed, [0, prefixTokens, 0], [1, from.h * from.w, d]), [1, from.h, from.w, d])
  const resized = tf.image.resizeBilinear(grid, [to.h, to.w], false, true)
  return tf.concat([prefix, tf.reshape(resized, [1, to.h * to.w, d])], 1)
}
