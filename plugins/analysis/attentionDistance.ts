/**
 * Mean attention distance, the measure of the paper's Figure 1 (after
 * Dosovitskiy et al. 2021, ViT, Fig. 7; He et al. 2022, MAE, and Park et al.
 * 2023 use the same analysis): for head h of a layer,
 *
 *   d_h = mean_{images b, query patches q} Σ_{key patches k} Â_h(q, k) · dist(q, k)
 *   Â_h(q, k) = A_h(q, k) / Σ_{k' patch} A_h(q, k')
 *   dist(q, k) = patchSize · ‖(row_q, col_q) - (row_k, col_k)‖₂  (pixels between patch centres)
 *
 * Class token (and any other prefix token): its row (as a query) and its
 * column (as a key) are dropped, and each remaining query row is renormalized
 * over the patch keys, so every query's weights are a distribution over
 * patches and the distance is the expected pixel distance to the attended
 * patch. (Without renormalization, mass on the class token would count as
 * distance 0 and shrink the measure.) A row whose patch mass underflows to 0
 * is divided by 1e-12 and counts as distance 0.
 *
 * Maps are [B, H, T, T] with T = prefixTokens + g·g (square g x g grid),
 * as `forwardIntermediates(..., { attention: true })` returns them.
 */
import * as tf from "@tensorflow/tfjs-core"
import { InvalidAnalysisOption, InvalidAttentionShape } from "./errors.ts"

export interface AttentionDistanceOptions {
  /** Pixels per patch side (16 for ViT-B/16). */
  readonly patchSize: number
  /** Leading non-patch tokens (1: the class token). */
  readonly prefixTokens?: number
}

/** The g x g grid of a [B, H, T, T] map, or the error saying why there is none. */
export const attentionGrid = (
  shape: ReadonlyArray<number>,
  o: AttentionDistanceOptions,
  field = "attention",
): { readonly grid: number } | InvalidAttentionShape | InvalidAnalysisOption => {
  const op = "attentionDistance"
  const pre = o.prefixTokens ?? 1
  if (!Number.isFinite(o.patchSize) || o.patchSize <= 0) return new InvalidAnalysisOption({ op, field: "patchSize", value: o.patchSize, expected: "a number > 0" })
  if (!Number.isInteger(pre) || pre < 0) return new InvalidAnalysisOption({ op, field: "prefixTokens", value: pre, expected: "an integer >= 0" })
  const [b, h, t, t2] = shape
  const g = Math.round(Math.sqrt((t ?? 0) - pre))
  const ok = shape.length === 4 && b !== undefined && h !== undefined && t !== undefined && b > 0 && h > 0 && t === t2 && g >= 1 && g * g === t - pre
  if (!ok) {
    return new InvalidAttentionShape({ op, field, shape, expected: `[B, H, T, T] with T = ${pre} prefix token(s) + g·g patches for a g x g grid` })
  }
  return { grid: g }
}

/** Pixel distances between the centres of the patches of a g x g grid, [g², g²] row-major (raster order). */
export const patchDistances = (grid: number, patchSize: number): Float32Array => {
  const n = grid * grid
  const d = new Float32Array(n * n)
  for (let q = 0; q < n; q++) {
    for (let k = 0; k < n; k++) {
      d[q * n + k] = patchSize * Math.hypot(Math.floor(q / grid) - Math.floor(k / grid), (q % grid) - (k % grid))
    }
  }
  return d
}

const gridOrThrow = (shape: ReadonlyArray<number>, o: AttentionDistanceOptions, field?: string): number => {
  const r = attentionGrid(shape, o, field)
  if (!("grid" in r)) throw r
  return r.grid
}

/**
 * Per head, the expected distance of each query summed over images and query
 * patches: [H]. Divide by B·g² for the mean; summing these over batches
 * gives the exact mean over a whole dataset. Throws {@link InvalidAttentionShape}.
 */
export const attentionDistanceSums = (attn: tf.Tensor, o: AttentionDistanceOptions): tf.Tensor1D => {
  const g = gridOrThrow(attn.shape, o)
  const pre = o.prefixTokens ?? 1
  const [b = 0, h = 0] = attn.shape
  const n = g * g
  return tf.tidy(() => {
    const patches = tf.slice(attn, [0, 0, pre, pre], [b, h, n, n])
    const mass = tf.maximum(tf.sum(patches, -1), 1e-12)
    const dist = tf.tensor2d(patchDistances(g, o.patchSize), [n, n])
    const expected = tf.div(tf.sum(tf.mul(patches, dist), -1), mass)
    return tf.sum(expected, [0, 2])
  })
}

/** Per-head mean attention distance of one layer's maps, [H] in pixels. */
export const attentionDistance = (attn: tf.Tensor, o: AttentionDistanceOptions): tf.Tensor1D => {
  const g = gridOrThrow(attn.shape, o)
  const b = attn.shape[0] ?? 1
  return tf.tidy(() => tf.div(attentionDistanceSums(attn, o), b * g * g))
}

/** Mean attention distance per layer: per head, and the mean over heads (Figure 1's curve). */
export interface AttentionDistanceResult {
  /** Block index of each row. */
  readonly layers: ReadonlyArray<number>
  /** `perHead[i][h]`: pixels, layer `layers[i]`, head h. */
  readonly perHead: ReadonlyArray<ReadonlyArray<number>>
  /** `mean[i]`: mean over heads of `perHead[i]`. */
  readonly mean: ReadonlyArray<number>
  /** Images accumulated. */
  readonly images: number
}

/**
 * Accumulates the measure over batches, layer by layer, in float64 on the
 * host; reads each batch's [H] sums back and disposes them.
 *
 * @example
 * const meter = new AttentionDistanceMeter({ patchSize: 16 })
 * for (const batch of batches) {
 *   const out = forwardIntermediates(model, batch, { attention: true })
 *   await meter.add(out.intermediates.map((m) => ({ layer: m.block, attn: m.attn! })))
 *   ...dispose out
 * }
 * const { mean } = meter.result()
 */
export class AttentionDistanceMeter {
  private readonly sums = new Map<number, Float64Array>()
  private readonly queries = new Map<number, number>()
  private readonly imageCount = new Map<number, number>()

  constructor(readonly options: AttentionDistanceOptions) {}

  /** Adds one batch's maps (one per layer). Throws {@link InvalidAttentionShape} if a map does not fit. */
  async add(maps: ReadonlyArray<{ readonly layer: number; readonly attn: tf.Tensor }>): Promise<void> {
    const grids = maps.map((m) => gridOrThrow(m.attn.shape, this.options, `layer ${m.layer}`))
    for (const [i, m] of maps.entries()) {
      const sums = attentionDistanceSums(m.attn, this.options)
      const data = await sums.data()
      sums.dispose()
      const acc = this.sums.get(m.layer) ?? new Float64Array(data.length)
      if (acc.length !== data.length) {
        throw new InvalidAttentionShape({ op: "AttentionDistanceMeter", field: `layer ${m.layer}`, shape: m.attn.shape, expected: `${acc.length} heads, as in earlier batches` })
      }
      data.forEach((v, h) => (acc[h] = (acc[h] ?? 0) + v))
      this.sums.set(m.layer, acc)
      const b = m.attn.shape[0] ?? 0
      const g = grids[i] ?? 0
      this.queries.set(m.layer, (this.queries.get(m.layer) ?? 0) + b * g * g)
      this.imageCount.set(m.layer, (this.imageCount.get(m.layer) ?? 0) + b)
    }
  }

  /** Layers in ascending order, per-head and head-mean distances in pixels. */
  result(): AttentionDistanceResult {
    const layers = [...this.sums.keys()].sort((a, b) => a - b)
    const perHead = layers.map((l) => {
      const q = this.queries.get(l) ?? 1
      return Array.from(this.sums.get(l) ?? [], (s) => s / q)
    })
    const mean = perHead.map((hs) => hs.reduce((a, b) => a + b, 0) / hs.length)
    return { layers, perHead, mean, images: Math.max(0, ...layers.map((l) => this.imageCount.get(l) ?? 0)) }
  }
}
