/**
 * MAE's networks (He et al. 2022, sec. 3, Fig. 1; facebookresearch/mae
 * `models_mae.py`): the ViT encoder (timm names) and a light decoder under
 * MAE's names: `decoder_embed`, `mask_token`, `decoder_pos_embed`,
 * `decoder_blocks.i.*` (timm blocks), `decoder_norm`, `decoder_pred`.
 * Position embeddings are learned here (MAE fixes them to 2-D sin-cos).
 */
import * as tf from "@tensorflow/tfjs-core"
import { gridSize, type VitConfig } from "../../../models/vit/config.ts"
import { initSeed } from "../../../models/initSeed.ts"
import { createVit, disposeVit, type VitModel } from "../../../models/vit/model.ts"
import { AdamW } from "../../../training/adamw.ts"
import type { MaePretrainConfig } from "./config.ts"

export interface MaeNetworks {
  readonly encoder: VitModel
  /** The decoder's blocks and norm as a ViT view (`blocks.i.*`, `norm.*`), sharing the variables of `decoderParams`. */
  readonly decoder: VitModel
  /** Decoder parameters under MAE's names. */
  readonly decoderParams: ReadonlyMap<string, tf.Variable>
  /** Encoder and decoder parameters (what the optimizer trains). */
  readonly trainable: ReadonlyMap<string, tf.Variable>
  readonly optimizer: AdamW
}

const rename = (k: string): string | undefined =>
  k.startsWith("blocks.") ? `decoder_${k}` : k.startsWith("norm.") ? `decoder_${k}` : k === "pos_embed" ? "decoder_pos_embed" : undefined

/** A trunc-normal(0.02) decoder parameter drawn from its own stream of the run's seed, or zeros. */
const variable = (shape: Array<number>, seed: number, name: string, zeros = false): tf.Variable =>
  tf.tidy(() => tf.variable(zeros ? tf.zeros(shape) : tf.truncatedNormal(shape, 0, 0.02, "float32", initSeed(seed, `MAE.${name}`)), true))

/** Allocates encoder, decoder and optimizer. Dispose with {@link disposeMaeNetworks}. */
export const createMaeNetworks = (arch: string, vit: VitConfig, c: MaePretrainConfig): MaeNetworks => {
  const encoder = createVit(arch, vit, c.seed)
  const decoderConfig: VitConfig = { ...vit, embedDim: c.decoderDim, depth: c.decoderDepth, numHeads: c.decoderHeads, numClasses: 0 }
  const full = createVit(`${arch}-mae-decoder`, decoderConfig, initSeed(c.seed, "MAE.decoder"))
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
  params.set("mask_token", variable([1, 1, c.decoderDim], c.seed, "mask_token"))
  params.set("decoder_embed.weight", variable([c.decoderDim, vit.embedDim], c.seed, "decoder_embed.weight"))
  params.set("decoder_embed.bias", variable([c.decoderDim], c.seed, "decoder_embed.bias", true))
  params.set("decoder_pred.weight", variable([pixels, c.decoderDim], c.seed, "decoder_pred.weight"))
  params.set("decoder_pred.bias", variable([pixels], c.seed, "decoder_pred.bias", true))
  const trainable = new Map([...encoder.params, ...params])
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

/** Patches per image. */
export const patchCount = (vit: VitConfig): number => gridSize(vit) ** 2

export const disposeMaeNetworks = (n: MaeNetworks): void => {
  disposeVit(n.encoder)
  for (const v of n.decoderParams.values()) v.dispose()
  n.optimizer.dispose()
}
