/**
 * MAE's networks (He et al. 2022, sec. 3, Fig. 1; facebookresearch/mae
 * `models_mae.py`): the ViT encoder (timm names) and a light decoder under
 * MAE's names: `decoder_embed`, `mask_token`, `decoder_pos_embed`,
 * `decoder_blocks.i.*` (timm blocks), `decoder_norm`, `decoder_pred`.
 *
 * As the reference's `initialize_weights`: both position embeddings are the
 * FIXED 2-D sin-cos embedding (`requires_grad=False`: outside the optimizer,
 * so never updated nor weight-decayed), every Linear weight xavier-uniform
 * with zero bias, the patch projection xavier-uniform as a flattened Linear,
 * `cls_token` and `mask_token` normal std 0.02, LayerNorm 1 / 0 (`createVit`
 * with the `mae` scheme). The encoder's `pos_embed` stays in the artifact
 * under its timm name.
 */
import * as tf from "@tensorflow/tfjs-core"
import { gridSize, type VitConfig } from "../../models/vit/config.ts"
import { initSeed } from "../../models/initSeed.ts"
import { createVit, disposeVit, type VitModel, xavierBound } from "../../models/vit/model.ts"
import { AdamW } from "../../training/adamw.ts"
import type { MaePretrainConfig } from "./config.ts"

export interface MaeNetworks {
  readonly encoder: VitModel
  /** The decoder's blocks and norm as a ViT view (`blocks.i.*`, `norm.*`, `pos_embed`), sharing the variables of `decoderParams`. */
  readonly decoder: VitModel
  /** Decoder parameters under MAE's names. */
  readonly decoderParams: ReadonlyMap<string, tf.Variable>
  /** Encoder and decoder parameters the optimizer trains: all but the two fixed position embeddings. */
  readonly trainable: ReadonlyMap<string, tf.Variable>
  readonly optimizer: AdamW
}

/** Names of the fixed (untrained) sin-cos position embeddings. */
export const fixedMaeParams: ReadonlySet<string> = new Set(["pos_embed", "decoder_pos_embed"])

const rename = (k: string): string | undefined =>
  k.startsWith("blocks.") ? `decoder_${k}` : k.startsWith("norm.") ? `decoder_${k}` : k === "pos_embed" ? "decoder_pos_embed" : undefined

/** A decoder parameter outside the decoder's ViT, drawn from its own stream of the run's seed. */
const variable = (value: () => tf.Tensor): tf.Variable => tf.tidy(() => tf.variable(value(), true))
const xavier = (shape: [number, number], seed: number, name: string) =>
  variable(() => {
    const b = xavierBound(shape[1], shape[0])
    return tf.randomUniform(shape, -b, b, "float32", initSeed(seed, `MAE.${name}`))
  })

/** Allocates encoder, decoder and optimizer. Dispose with {@link disposeMaeNetworks}. `vit.embedDim` and `decoderDim` must be multiples of 4. */
export const createMaeNetworks = (arch: string, vit: VitConfig, c: MaePretrainConfig): MaeNetworks => {
  const encoder = createVit(arch, vit, c.seed, "mae")
  const decoderConfig: VitConfig = { ...vit, embedDim: c.decoderDim, depth: c.decoderDepth, numHeads: c.decoderHeads, numClasses: 0, globalPool: "token" }
  const full = createVit(`${arch}-mae-decoder`, decoderConfig, initSeed(c.seed, "MAE.decoder"), "mae")
  const params = new Map<string, tf.Variable>()
  const view = new Map<string, tf.Variable>()
  for (const [k, v] of full.params) {
    const name = rename(k)
    if (name === undefined) v.dispose()
    else {
      params.set(name, v)
      view.set(k, v)
    }
  }
  const pixels = vit.patchSize * vit.patchSize * vit.inChans
  params.set("mask_token", variable(() => tf.randomNormal([1, 1, c.decoderDim], 0, 0.02, "float32", initSeed(c.seed, "MAE.mask_token"))))
  params.set("decoder_embed.weight", xavier([c.decoderDim, vit.embedDim], c.seed, "decoder_embed.weight"))
  params.set("decoder_embed.bias", variable(() => tf.zeros([c.decoderDim])))
  params.set("decoder_pred.weight", xavier([pixels, c.decoderDim], c.seed, "decoder_pred.weight"))
  params.set("decoder_pred.bias", variable(() => tf.zeros([pixels])))
  const trainable = new Map([...encoder.params, ...params].filter(([name]) => !fixedMaeParams.has(name)))
  return {
    encoder,
    decoder: { arch: full.arch, config: decoderConfig, params: view },
    decoderParams: params,
    trainable,
    optimizer: new AdamW(trainable, { beta2: c.beta2 }),
  }
}

/** Every variable the training changes, for the per-epoch checkpoint. */
export const maeStateVars = (n: MaeNetworks): ReadonlyMap<string, tf.Variable> => new Map([...n.trainable, ...n.optimizer.state()])

export const disposeMaeNetworks = (n: MaeNetworks): void => {
  disposeVit(n.encoder)
  for (const v of n.decoderParams.values()) v.dispose()
  n.optimizer.dispose()
}
