/**
 * A pure key filter from timm-family checkpoints to ssl-kd's ViT, after
 * timm's `checkpoint_filter_fn` (timm/models/vision_transformer.py). The model
 * keeps timm's names; foreign files are adapted here, never by renaming the
 * model. Handles:
 *  - DDP `module.` prefixes;
 *  - MAE pre-training extras (`mask_token`, `decoder_*`);
 *  - empty heads (`head.weight` of shape [0, D], as in `.dino`/`.mae` files);
 *  - the final norm of the other pooling ({@link poolingFilter}): for a
 *    class-token model, `fc_norm.*` without `norm.*` (timm MAE fine-tuned
 *    files) mapped to `norm.*`; for an average-pooling model, `norm.*`
 *    without `fc_norm.*` (a pretraining file) dropped and `fc_norm` set to
 *    LayerNorm's 1 / 0, as MAE fine-tuning does (`models_vit.py` deletes
 *    `norm`; `main_finetune.py` expects `fc_norm` missing);
 *  - `pos_embed` for another patch grid: resampled bilinearly;
 *  - on request, the head dropped (to train a new one on a downstream task).
 */
import * as tf from "@tensorflow/tfjs-core"
import { resamplePosEmbed } from "../models/ops/resamplePosEmbed.ts"
import { globalPoolOf, gridSize, type VitConfig } from "../models/vit/config.ts"

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
  notes.push(...poolingFilter(state, config))
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

/**
 * In place: makes the final-norm keys of `state` fit the config's pooling
 * (see the module doc); returns one note per change. A state that already
 * fits is left as it is.
 */
export const poolingFilter = (state: Map<string, FloatTensor>, config: VitConfig): ReadonlyArray<string> => {
  const notes: Array<string> = []
  const avg = globalPoolOf(config) === "avg"
  for (const part of ["weight", "bias"] as const) {
    const fc = state.get(`fc_norm.${part}`)
    const norm = state.get(`norm.${part}`)
    if (!avg && fc !== undefined && norm === undefined) {
      state.delete(`fc_norm.${part}`)
      state.set(`norm.${part}`, fc)
      notes.push(`fc_norm.${part} -> norm.${part} (checkpoint used average pooling; the model pools the class token)`)
    } else if (avg && norm !== undefined && fc === undefined) {
      state.delete(`norm.${part}`)
      state.set(`fc_norm.${part}`, { shape: [config.embedDim], data: new Float32Array(config.embedDim).fill(part === "weight" ? 1 : 0) })
      notes.push(`dropped norm.${part}, fc_norm.${part} = ${part === "weight" ? 1 : 0} (average pooling: the final norm is fc_norm, as MAE fine-tuning)`)
    }
  }
  return notes
}
