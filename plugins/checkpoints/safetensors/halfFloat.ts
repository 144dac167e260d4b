/**
 * Bit-exact conversions between float32 and the two 16-bit float formats of
 * safetensors: IEEE 754 binary16 (F16) and bfloat16 (BF16). Widening is
 * exact; narrowing rounds to nearest, ties to even, overflows to ±inf, keeps
 * subnormals and signed zeros, and maps NaN to a quiet NaN.
 */

const f32 = new Float32Array(1)
const u32 = new Uint32Array(f32.buffer)

/** float32 bits of a number (after rounding it to float32). */
export const float32Bits = (x: number): number => {
  f32[0] = x
  return u32[0] ?? 0
}

const fromBits = (bits: number): number => {
  u32[0] = bits >>> 0
  return f32[0] ?? 0
}

/** binary16 bits -> float32 value (exact). */
export const f16ToF32 = (h: number): number => {
  const sign = h & 0x8000 ? -1 : 1
  const exp = (h >> 10) & 0x1f
  const mant = h & 0x3ff
  if (exp === 0) return sign * mant * 2 ** -24
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN
  return sign * (1 + mant / 1024) * 2 ** (exp - 15)
}

/** float32 value -> binary16 bits, round to nearest even. */
export const f32ToF16 = (x: number): number => {
  const bits = float32Bits(x)
  const sign = (bits >>> 16) & 0x8000
  const exp = (bits >>> 23) & 0xff
  const mant = bits & 0x7fffff
  if (exp === 0xff) return mant === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mant >>> 13)
  const e = exp - 127 + 15
  if (e >= 0x1f) return sign | 0x7c00
  if (e <= 0) {
    // Subnormal half (or zero): value = full mantissa · 2^(exp-150); half unit is 2^-24.
    if (e < -10) return sign
    const full = mant | 0x800000
    const shift = 14 - e
    const q = full >>> shift
    const rem = full & ((1 << shift) - 1)
    const half = 1 << (shift - 1)
    const rounded = rem > half || (rem === half && (q & 1) === 1) ? q + 1 : q
    return sign | rounded
  }
  const q = (e << 10) | (mant >>> 13)
  const rem = mant & 0x1fff
  // Carrying into the exponent (even to 0x7c00 = inf) is the correct rounding.
  const rounded = rem > 0x1000 || (rem === 0x1000 && (q & 1) === 1) ? q + 1 : q
  return sign | rounded
}

/** bfloat16 bits -> float32 value (exact: the upper half of float32). */
export const bf16ToF32 = (b: number): number => fromBits((b & 0xffff) << 16)

/** float32 value -> bfloat16 bits, round to nearest even. */
export const f32ToBf16 = (x: number): number => {
  const bits = float32Bits(x)
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0) return ((bits >>> 16) | 0x40) & 0xffff
  const lower = bits & 0xffff
  const upper = bits >>> 16
  const rounded = lower > 0x8000 || (lower === 0x8000 && (upper & 1) === 1) ? upper + 1 : upper
  return rounded & 0xffff
}
