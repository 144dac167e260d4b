/**
 * MAE's fixed 2-D sine-cosine position embedding (He et al. 2022, sec. 3
 * "MAE encoder"/"MAE decoder"; facebookresearch/mae `util/pos_embed.py`,
 * `get_2d_sincos_pos_embed(embed_dim, grid_size, cls_token=True)`), after the
 * 1-D transformer embedding (Vaswani et al. 2017, sec. 3.5):
 *
 *   ω_k        = 1 / 10000^(k / (D/4)),  k = 0 .. D/4 - 1
 *   e_1d(x)    = [sin(x ω_0) .. sin(x ω_{D/4-1}), cos(x ω_0) .. cos(x ω_{D/4-1})]   (D/2 values)
 *   e(row, col)= [e_1d(col), e_1d(row)]                                              (D values)
 *
 * for the patch in raster order at index `row · G + col`. The first half
 * encodes the COLUMN: the reference builds `np.meshgrid(grid_w, grid_h)`,
 * whose first plane holds the column index, and encodes that plane first
 * (under the name `emb_h`). With `clsToken`, a row of zeros comes first (the
 * class token has no position). D must be a multiple of 4.
 */
import { InvalidModelConfig } from "../errors.ts"

/** The 1-D embedding of positions `pos` into `dim` values each (`get_1d_sincos_pos_embed_from_grid`), row-major [M, dim]. */
const sincos1d = (dim: number, pos: ReadonlyArray<number>): Float64Array => {
  const half = dim / 2
  const out = new Float64Array(pos.length * dim)
  pos.forEach((x, m) => {
    for (let k = 0; k < half; k++) {
      const omega = 1 / 10000 ** (k / half)
      out[m * dim + k] = Math.sin(x * omega)
      out[m * dim + half + k] = Math.cos(x * omega)
    }
  })
  return out
}

/**
 * The embedding [(clsToken ? 1 : 0) + G², D] of a G x G patch grid, row-major
 * (float32; computed in float64 and rounded once, where the reference computes
 * in float32: the two differ by at most a few float32 ulps).
 * Throws {@link InvalidModelConfig} when D is not a positive multiple of 4.
 */
export const sincosPosEmbed2d = (embedDim: number, grid: number, clsToken = true): Float32Array => {
  if (!Number.isInteger(embedDim) || embedDim <= 0 || embedDim % 4 !== 0) {
    throw new InvalidModelConfig({ arch: "sincosPosEmbed2d", field: "embedDim", value: embedDim, expected: "a positive multiple of 4 (2-D sin-cos position embedding)" })
  }
  if (!Number.isInteger(grid) || grid <= 0) throw new InvalidModelConfig({ arch: "sincosPosEmbed2d", field: "grid", value: grid, expected: "a positive integer" })
  const half = embedDim / 2
  const cols = Array.from({ length: grid * grid }, (_, i) => i % grid)
  const rows = Array.from({ length: grid * grid }, (_, i) => Math.floor(i / grid))
  const ew = sincos1d(half, cols)
  const eh = sincos1d(half, rows)
  const offset = clsToken ? 1 : 0
  const out = new Float32Array((offset + grid * grid) * embedDim)
  for (let i = 0; i < grid * grid; i++) {
    const row = (offset + i) * embedDim
    for (let k = 0; k < half; k++) {
      out[row + k] = ew[i * half + k] ?? 0
      out[row + half + k] = eh[i * half + k] ?? 0
    }
  }
  return out
}
