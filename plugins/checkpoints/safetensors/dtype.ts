/**
 * safetensors dtypes (huggingface/safetensors `Dtype`): byte sizes, and
 * decoding / encoding of raw little-endian bytes to and from float32.
 */
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from "./halfFloat.ts"

/** Every dtype name the format defines, with its size in bytes. */
export const dtypeSizes = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
} as const

export type Dtype = keyof typeof dtypeSizes

/** Dtypes ssl-kd can write. */
export type FloatDtype = "F32" | "F16" | "BF16"

export const isDtype = (s: string): s is Dtype => Object.hasOwn(dtypeSizes, s)

const littleEndianHost = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

/** Raw bytes of `count` elements -> float32 values (integers converted, 64-bit ones through Number). */
export const decodeToFloat32 = (dtype: Dtype, bytes: Uint8Array, count: number): Float32Array => {
  if (dtype === "F32" && littleEndianHost) return new Float32Array(bytes.slice(0, 4 * count).buffer)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const out = new Float32Array(count)
  const read: (i: number) => number = (() => {
    switch (dtype) {
      case "F32": return (i) => view.getFloat32(4 * i, true)
      case "F64": return (i) => view.getFloat64(8 * i, true)
      case "F16": return (i) => f16ToF32(view.getUint16(2 * i, true))
      case "BF16": return (i) => bf16ToF32(view.getUint16(2 * i, true))
      case "BOOL":
      case "U8": return (i) => view.getUint8(i)
      case "I8": return (i) => view.getInt8(i)
      case "I16": return (i) => view.getInt16(2 * i, true)
      case "U16": return (i) => view.getUint16(2 * i, true)
      case "I32": return (i) => view.getInt32(4 * i, true)
      case "U32": return (i) => view.getUint32(4 * i, true)
      case "I64": return (i) => Number(view.getBigInt64(8 * i, true))
      case "U64": return (i) => Number(view.getBigUint64(8 * i, true))
    }
  })()
  for (let i = 0; i < count; i++) out[i] = read(i)
  return out
}

/** float32 values -> little-endian bytes of a float dtype. */
export const encodeFloat = (dtype: FloatDtype, data: Float32Array): Uint8Array => {
  const out = new Uint8Array(data.length * dtypeSizes[dtype])
  const view = new DataView(out.buffer)
  for (let i = 0; i < data.length; i++) {
    const x = data[i] ?? 0
    if (dtype === "F32") view.setFloat32(4 * i, x, true)
    else if (dtype === "F16") view.setUint16(2 * i, f32ToF16(x), true)
    else view.setUint16(2 * i, f32ToBf16(x), true)
  }
  return out
}
