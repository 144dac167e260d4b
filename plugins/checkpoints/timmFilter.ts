/**
 * A pure key filter from timm-family checkpoints to ssl-kd's ViT, after
 * timm's `checkpoint_filter_fn` (timm/models/vision_transformer.py). The model
 * keeps timm's names; foreign files are adapted here, never by renaming the
 * model. Handles:
 *  - DDP `module.` prefixes;
 *  - MAE pre-training extras (`mask_token`, `decoder_*`);
 *  - empty heads (`head.weight` of shape [0, D], as in `.dino`/`.mae` files);
 *  - `fc_norm.*` without `norm.*` (timm MAE fine-tuned files, `global_pool="avg"`):
 *    mapped to `norm.*`, with a note, since ssl-kd pools the class token;
 *  - `pos_embed` for another patch grid: resampled bilinearly;
 *  - on request, the head dropped (to train a new one on a downstream task).
 */
import * as tf from "@tensorflow/tfjs-core"
import { resamplePosEmbed } from "../models/ops/resamplePosEmbed.ts"
import { gridSize, type VitConfig } from "../models/vit/config.ts"

/** A float32 tensor held in plain memory. */
export interface FloatTensor {
  readonly shape: ReadonlyArray<number>
  readonly data: Float32Array
}

export interface FilterOptions {
  /** Ignore the file's head (the model keeps its freshly initialised one). */
  readonly skipHead?: boolean
}

export interface FilterResult {
  readonly state: ReadonlyMap<string, FloatTensor>
  /** What was changed, one line each, for the user. */
  readonly notes: ReadonlyArray<string>
}

const isMaeExtra = (key: string): boolean => key === "mask_token" || key.startsWith("decoder_")

const resampled = (t: FloatTensor, config: VitConfig): FloatTensor | undefined => {
  const [one, tokens, d] = t.shape
  const old = Math.round(Math.sqrt((tokens ?? 0) - 1))
  if (one !== 1 || d === undefined || tokens === undefined || old * old + 1 !== tokens) return undefined
  const g = gridSize(config)
  const data = tf.tidy(() =>
    resamplePosEmbed(tf.tensor(t.data, [1, tokens, d]), { h: old, w: old }, { h: g, w: g }).dataSync()
  )
  return { shape: [1, g * g + 1, d], data: Float32Array.from(data) }
}

/** Maps a timm-family state dict onto the names and shapes of a ViT config. */
export const timmCheckpointFilter = (
  input: ReadonlyMap<string, FloatTensor>,
  config: VitConfig,
  options: FilterOptions = {},
): FilterResult => {
  const notes: Array<string> = []
  const state = new Map<string, FloatTensor>()
  let dropped = 0
  for (const [rawKey, t] of input) {
    const key = rawKey.startsWith("module.") ? rawKey.slice("module.".length) : rawKey
    if (isMaeExtra(key)) {
      dropped++
      continue
    }
    if (key.startsWith("head.") && (t.data.length === 0 || options.skipHead === true)) {
      notes.push(t.data.length === 0 ? `dropped empty ${key}` : `ignored ${key} (skipHead)`)
      continue
    }
    state.set(key, t)
  }
  if (dropped > 0) notes.push(`dropped ${dropped} MAE pre-training tensors (mask_token, decoder_*)`)
  for (const part of ["weight", "bias"]) {
    const fc = state.get(`fc_norm.${part}`)
    if (fc !== undefined && !state.has(`norm.${part}`)) {
      state.delete(`fc_norm.${part}`)
      state.set(`norm.${part}`, fc)
      notes.push(`fc_norm.${part} -> norm.${part} (checkpoint used average pooling; ssl-kd pools the class token)`)
    }
  }
  const pos = state.get("pos_embed")
  const g = gridSize(config)
  if (pos !== undefined && pos.shape[1] !== g * g + 1) {
    const r = resampled(pos, config)
    if (r !== undefined) {
      state.set("pos_embed", r)
      notes.push(`pos_embed resampled from ${pos.shape[1]} to ${g * g + 1} tokens (bilinear)`)
    }
  }
  return { state, notes }
}
