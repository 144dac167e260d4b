/**
 * The token embedding of timm's ViT (`_pos_embed` with class token):
 * patch tokens, the class token prepended, plus the learned position
 * embedding, resampled bilinearly when the input's patch grid differs from
 * the one the model was built for.
 */
import * as tf from "@tensorflow/tfjs-core"
import { InvalidInputShape } from "../errors.ts"
import { patchEmbed } from "../ops/patchEmbed.ts"
import { resamplePosEmbed } from "../ops/resamplePosEmbed.ts"
import { gridSize } from "./config.ts"
import { param, type VitModel } from "./model.ts"

/** Why images of this shape cannot go through the model, or `undefined` if they can. */
export const checkImages = (model: VitModel, shape: ReadonlyArray<number>): InvalidInputShape | undefined => {
  const { inChans, patchSize } = model.config
  const [b, c, h, w] = shape
  const expected = `[batch, ${inChans}, H, W] (NCHW float32) with H and W positive multiples of the patch size ${patchSize}`
  const fits = shape.length === 4 && b !== undefined && b > 0 && c === inChans &&
    h !== undefined && w !== undefined && h > 0 && w > 0 && h % patchSize === 0 && w % patchSize === 0
  return fits ? undefined : new InvalidInputShape({ arch: model.arch, shape: [...shape], expected })
}

/** Images [B,C,H,W] -> tokens [B, 1 + (H/p)(W/p), D]. Throws {@link InvalidInputShape}. */
export const embedTokens = (model: VitModel, images: tf.Tensor): tf.Tensor => {
  const bad = checkImages(model, images.shape)
  if (bad !== undefined) throw bad
  const [b, , h, w] = images.shape
  const { patchSize: p, embedDim: d } = model.config
  if (b === undefined || h === undefined || w === undefined) throw bad
  const patches = patchEmbed(images, param(model, "patch_embed.proj.weight"), param(model, "patch_embed.proj.bias"))
  // A broadcasting Add, not broadcastTo: tfjs runs broadcastTo as Tile, whose gradient is one Slice and one Add per image.
  const cls = tf.add(tf.zeros([b, 1, d]), param(model, "cls_token"))
  const g = gridSize(model.config)
  const pos = resamplePosEmbed(param(model, "pos_embed"), { h: g, w: g }, { h: h / p, w: w / p })
  return tf.add(tf.concat([cls, patches], 1), pos)
}
