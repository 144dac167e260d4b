/**
 * Serialisation to safetensors: header JSON (tensors in the given order,
 * contiguous offsets, `__metadata__` of strings) padded with spaces to an
 * 8-byte boundary, as the reference writer does, then the raw data.
 */
import { dtypeSizes, encodeFloat, type FloatDtype } from "./dtype.ts"

export interface TensorToWrite {
  readonly name: string
  readonly shape: ReadonlyArray<number>
  /** float32 values, row-major; narrowed to `dtype` on write. */
  readonly data: Float32Array
  readonly dtype?: FloatDtype
}

/** Encodes tensors into a safetensors buffer. Throws RangeError on a shape/data length mismatch (a caller bug). */
export const encodeSafetensors = (
  tensors: ReadonlyArray<TensorToWrite>,
  metadata: Readonly<Record<string, string>> = {},
): Uint8Array => {
  const header: Record<string, unknown> = {}
  if (Object.keys(metadata).length > 0) header["__metadata__"] = metadata
  const blobs: Array<Uint8Array> = []
  let offset = 0
  for (const t of tensors) {
    const count = t.shape.reduce((a, b) => a * b, 1)
    if (count !== t.data.length) throw new RangeError(`tensor "${t.name}": shape [${t.shape.join(", ")}] needs ${count} values, got ${t.data.length}`)
    if (t.name === "__metadata__" || Object.hasOwn(header, t.name)) throw new RangeError(`tensor name "${t.name}" is reserved or repeated`)
    const dtype = t.dtype ?? "F32"
    const blob = encodeFloat(dtype, t.data)
    header[t.name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + count * dtypeSizes[dtype]] }
    blobs.push(blob)
    offset += blob.byteLength
  }
  const json = new TextEncoder().encode(JSON.stringify(header))
  const padded = Math.ceil(json.byteLength / 8) * 8
  const out = new Uint8Array(8 + padded + offset)
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true)
  out.set(json, 8)
  out.fill(0x20, 8 + json.byteLength, 8 + padded)
  let at = 8 + padded
  for (const b of blobs) {
    out.set(b, at)
    at += b.byteLength
  }
  return out
}
