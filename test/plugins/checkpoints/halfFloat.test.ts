/** Bit-exact F16 / BF16 conversions on hand-picked values: subnormals, limits, infinities, NaN, ties. */
import { describe, expect, it } from "vitest"
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from "../../../plugins/checkpoints/index.ts"

describe("binary16 (F16)", () => {
  const cases: Array<[number, number]> = [
    [0x0000, 0], [0x8000, -0], [0x3c00, 1], [0xbc00, -1], [0x3555, 0.333251953125],
    [0x7bff, 65504], [0x0400, 2 ** -14], [0x03ff, 1023 * 2 ** -24], [0x0001, 2 ** -24], [0x8001, -(2 ** -24)],
    [0x7c00, Infinity], [0xfc00, -Infinity],
  ]
  it.each(cases)("0x%s <-> %s exactly", (bits, value) => {
    expect(Object.is(f16ToF32(bits), value)).toBe(true)
    expect(f32ToF16(value)).toBe(bits)
  })
  it("NaN stays NaN (quiet)", () => {
    expect(f16ToF32(0x7e00)).toBeNaN()
    expect(f32ToF16(NaN) & 0x7e00).toBe(0x7e00)
  })
  it("rounds to nearest, ties to even; overflow to inf; underflow to signed zero", () => {
    expect(f32ToF16(1 + 2 ** -11)).toBe(0x3c00) // tie, even stays
    expect(f32ToF16(1 + 3 * 2 ** -11)).toBe(0x3c02) // tie, odd rounds up
    expect(f32ToF16(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01)
    expect(f32ToF16(65520)).toBe(0x7c00) // halfway to 2^16 rounds to inf
    expect(f32ToF16(65519)).toBe(0x7bff)
    expect(f32ToF16(2 ** -25)).toBe(0x0000) // tie between 0 and min subnormal -> even (0)
    expect(f32ToF16(3 * 2 ** -26)).toBe(0x0001)
    expect(f32ToF16(-(2 ** -30))).toBe(0x8000)
    expect(f32ToF16(1.5 * 2 ** -24)).toBe(0x0002) // tie between subnormals 1 and 2 -> even
    expect(f32ToF16(2 ** -14 - 2 ** -25)).toBe(0x0400) // rounds up into the normal range
  })
  it("every one of the 65536 bit patterns round-trips (NaNs excepted)", () => {
    for (let b = 0; b < 0x10000; b++) {
      const v = f16ToF32(b)
      if (!Number.isNaN(v)) expect(f32ToF16(v)).toBe(b)
    }
  })
})

describe("bfloat16 (BF16)", () => {
  const cases: Array<[number, number]> = [
    [0x0000, 0], [0x8000, -0], [0x3f80, 1], [0xc000, -2], [0x7f7f, 3.3895313892515355e38],
    [0x0080, 2 ** -126], [0x0001, 2 ** -133], [0x7f80, Infinity], [0xff80, -Infinity], [0x3eab, 0.333984375],
  ]
  it.each(cases)("0x%s <-> %s exactly", (bits, value) => {
    expect(Object.is(bf16ToF32(bits), value)).toBe(true)
    expect(f32ToBf16(value)).toBe(bits)
  })
  it("rounds to nearest even and keeps NaN", () => {
    expect(f32ToBf16(1 + 2 ** -8)).toBe(0x3f80) // tie, even
    expect(f32ToBf16(1 + 3 * 2 ** -8)).toBe(0x3f82) // tie, odd up
    expect(f32ToBf16(1 / 3)).toBe(0x3eab)
    expect(Number.isNaN(bf16ToF32(f32ToBf16(NaN)))).toBe(true)
    expect(f32ToBf16(3.4e38)).toBe(0x7f80) // rounds past the largest finite bf16 to inf
  })
  it("every one of the 65536 bit patterns round-trips (NaNs excepted)", () => {
    for (let b = 0; b < 0x10000; b++) {
      const v = bf16ToF32(b)
      if (!Number.isNaN(v)) expect(f32ToBf16(v)).toBe(b)
    }
  })
})
