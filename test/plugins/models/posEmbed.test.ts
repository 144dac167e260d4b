/**
 * MAE's 2-D sin-cos position embedding (`util/pos_embed.py`) against values
 * computed by hand from the formula: e(row, col) = [sin(col ω), cos(col ω),
 * sin(row ω), cos(row ω)], ω_k = 10000^(-k / (D/4)), class row zero.
 */
import { describe, expect, it } from "vitest"
import { InvalidModelConfig, sincosPosEmbed2d } from "../../../plugins/models/index.ts"

const rows = (flat: Float32Array, d: number): Array<Array<number>> =>
  Array.from({ length: flat.length / d }, (_, i) => Array.from(flat.subarray(i * d, (i + 1) * d)))

const close = (actual: ReadonlyArray<number>, expected: ReadonlyArray<number>) => {
  expect(actual).toHaveLength(expected.length)
  actual.forEach((a, i) => expect(a).toBeCloseTo(expected[i] ?? NaN, 6))
}

describe("sincosPosEmbed2d (get_2d_sincos_pos_embed)", () => {
  it("D = 4 on a 2x2 grid: the class row is zero, then [sin col, cos col, sin row, cos row] in raster order", () => {
    const [s, c] = [Math.sin(1), Math.cos(1)]
    const e = rows(sincosPosEmbed2d(4, 2, true), 4)
    expect(e).toHaveLength(5)
    close(e[0] ?? [], [0, 0, 0, 0])
    close(e[1] ?? [], [0, 1, 0, 1]) // row 0, col 0
    close(e[2] ?? [], [s, c, 0, 1]) // row 0, col 1: the first half encodes the column (meshgrid(w, h))
    close(e[3] ?? [], [0, 1, s, c]) // row 1, col 0
    close(e[4] ?? [], [s, c, s, c]) // row 1, col 1
  })

  it("D = 8 on a 3x3 grid: two frequencies per axis, 1 and 10000^(-1/2)", () => {
    const e = rows(sincosPosEmbed2d(8, 3, false), 8)
    expect(e).toHaveLength(9)
    const [row, col] = [2, 1]
    close(e[row * 3 + col] ?? [], [
      Math.sin(col), Math.sin(col * 0.01), Math.cos(col), Math.cos(col * 0.01),
      Math.sin(row), Math.sin(row * 0.01), Math.cos(row), Math.cos(row * 0.01),
    ])
  })

  it("the 7x7 grid of the reproduction: 50 rows of width 160, bounded by 1", () => {
    const e = sincosPosEmbed2d(160, 7, true)
    expect(e.length).toBe(50 * 160)
    expect(Math.max(...Array.from(e, Math.abs))).toBeLessThanOrEqual(1)
  })

  it("refuses a width that is not a multiple of 4, naming the field", () => {
    expect(() => sincosPosEmbed2d(6, 2)).toThrow(InvalidModelConfig)
    expect(() => sincosPosEmbed2d(6, 2)).toThrow(/embedDim = 6.*multiple of 4/)
  })
})
