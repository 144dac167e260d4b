/**
 * Parsing and validation of a safetensors byte buffer
 * (huggingface/safetensors, "Format"): 8-byte little-endian header length N,
 * N bytes of JSON header, then the data section. Every tensor entry is
 * checked (dtype, shape, offsets inside the data section and contiguous,
 * byte length = dtype size × element count) before any data is touched.
 * `headerLength` and `parseHeader` work on a file's first bytes alone, so
 * `file.ts` can validate a file of any size before reading its tensors.
 */
import { Effect } from "effect"
import {
  SafetensorsBadEntry,
  SafetensorsBadHeader,
  SafetensorsBadOffsets,
  type SafetensorsFormatError,
  SafetensorsHeaderTooLarge,
  SafetensorsShapeMismatch,
  SafetensorsTruncated,
  SafetensorsUnsupportedDtype,
} from "../errors.ts"
import { type Dtype, dtypeSizes, isDtype } from "./dtype.ts"

/** Largest header accepted: the reference implementation's bound (100 MB). */
export const maxHeaderBytes = 100_000_000

export interface TensorEntry {
  readonly name: string
  readonly dtype: Dtype
  readonly shape: ReadonlyArray<number>
  /** A view of the tensor's bytes inside the file buffer. */
  readonly bytes: Uint8Array
}

export interface SafetensorsContents {
  readonly file: string
  readonly metadata: Readonly<Record<string, string>>
  /** Tensors in header order. */
  readonly tensors: ReadonlyMap<string, TensorEntry>
}

type Raw = { readonly name: string; readonly dtype: Dtype; readonly shape: ReadonlyArray<number>; readonly begin: number; readonly end: number }

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v)

const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0

const entryOf = (file: string, name: string, v: unknown): Raw | SafetensorsFormatError => {
  const bad = (field: string, problem: string) => new SafetensorsBadEntry({ file, tensor: name, field, problem })
  if (!isRecord(v)) return bad("(entry)", "must be an object with dtype, shape and data_offsets")
  const { dtype, shape, data_offsets: offsets } = v
  if (typeof dtype !== "string") return bad("dtype", "must be a string")
  if (!isDtype(dtype)) return new SafetensorsUnsupportedDtype({ file, tensor: name, dtype, supported: Object.keys(dtypeSizes) })
  if (!Array.isArray(shape) || !shape.every(isCount)) return bad("shape", "must be an array of non-negative integers")
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    return bad("data_offsets", "must be [begin, end] with non-negative integers")
  }
  const [begin, end] = offsets
  if (begin === undefined || end === undefined || end < begin) {
    return new SafetensorsBadOffsets({ file, tensor: name, offsets, problem: "end before begin" })
  }
  let count = 1
  for (const d of shape) {
    count *= d
    if (!Number.isSafeInteger(count * dtypeSizes[dtype])) return bad("shape", `[${shape.join(", ")}] has too many elements`)
  }
  const expectedBytes = count * dtypeSizes[dtype]
  if (expectedBytes !== end - begin) {
    return new SafetensorsShapeMismatch({ file, tensor: name, dtype, shape, expectedBytes, actualBytes: end - begin })
  }
  return { name, dtype, shape, begin, end }
}

/** A validated tensor entry before its bytes are read: where they lie in the data section. */
export interface TensorLayout {
  readonly name: string
  readonly dtype: Dtype
  readonly shape: ReadonlyArray<number>
  /** Offsets inside the data section (which starts at `dataStart` of the file). */
  readonly begin: number
  readonly end: number
}

export interface SafetensorsLayout {
  readonly file: string
  readonly metadata: Readonly<Record<string, string>>
  /** Byte offset of the data section in the file: 8 + header length. */
  readonly dataStart: number
  /** Entries in header order. */
  readonly tensors: ReadonlyArray<TensorLayout>
}

/**
 * The header length from the first 8 bytes of a file of `fileSize` bytes,
 * checked against the size and the bound before anything is allocated.
 */
export const headerLength = (first8: Uint8Array, fileSize: number, file: string): number | SafetensorsFormatError => {
  if (first8.byteLength < 8 || fileSize < 8) return new SafetensorsTruncated({ file, needed: 8, size: fileSize, part: "header length" })
  const declared = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true)
  if (declared > BigInt(maxHeaderBytes)) return new SafetensorsHeaderTooLarge({ file, headerLength: Number(declared), limit: maxHeaderBytes })
  const n = Number(declared)
  if (8 + n > fileSize) return new SafetensorsTruncated({ file, needed: 8 + n, size: fileSize, part: "header" })
  return n
}

/**
 * Parse and validate the JSON header of a file of `fileSize` bytes: every
 * entry, and offsets that tile the data section exactly (no gap, no overlap,
 * nothing outside, no trailing bytes).
 */
export const parseHeader = (header: Uint8Array, fileSize: number, file: string): SafetensorsLayout | SafetensorsFormatError => {
  let parsed: unknown
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(header))
  } catch (e) {
    return new SafetensorsBadHeader({ file, problem: `not UTF-8 JSON (${e instanceof Error ? e.message : String(e)})` })
  }
  if (!isRecord(parsed)) return new SafetensorsBadHeader({ file, problem: "must be a JSON object" })

  const metadata: Record<string, string> = {}
  const raws: Array<Raw> = []
  for (const [name, v] of Object.entries(parsed)) {
    if (name === "__metadata__") {
      if (!isRecord(v)) return new SafetensorsBadHeader({ file, problem: "__metadata__ must be an object of strings" })
      for (const [k, s] of Object.entries(v)) {
        if (typeof s !== "string") return new SafetensorsBadHeader({ file, problem: `__metadata__.${k} must be a string` })
        metadata[k] = s
      }
      continue
    }
    const r = entryOf(file, name, v)
    if ("_tag" in r) return r
    raws.push(r)
  }

  const dataStart = 8 + header.byteLength
  const dataLength = fileSize - dataStart
  const sorted = [...raws].sort((a, b) => a.begin - b.begin || a.end - b.end)
  let cursor = 0
  for (const r of sorted) {
    const offsets = [r.begin, r.end]
    if (r.end > dataLength) {
      return r.begin > dataLength
        ? new SafetensorsBadOffsets({ file, tensor: r.name, offsets, problem: `lie outside the data section of ${dataLength} bytes` })
        : new SafetensorsTruncated({ file, needed: dataStart + r.end, size: fileSize, part: `tensor "${r.name}"` })
    }
    if (r.begin !== cursor) {
      const problem = r.begin < cursor ? `overlap the previous tensor (ending at ${cursor})` : `leave a hole after byte ${cursor}`
      return new SafetensorsBadOffsets({ file, tensor: r.name, offsets, problem })
    }
    cursor = r.end
  }
  if (cursor !== dataLength) {
    const last = sorted[sorted.length - 1]
    return new SafetensorsBadOffsets({
      file,
      tensor: last?.name ?? "(none)",
      offsets: last === undefined ? [] : [last.begin, last.end],
      problem: `end at ${cursor} but the data section has ${dataLength} bytes (trailing bytes)`,
    })
  }
  return { file, metadata, dataStart, tensors: raws }
}

const decode = (bytes: Uint8Array, file: string): SafetensorsContents | SafetensorsFormatError => {
  const n = headerLength(bytes.subarray(0, 8), bytes.byteLength, file)
  if (typeof n !== "number") return n
  const layout = parseHeader(bytes.subarray(8, 8 + n), bytes.byteLength, file)
  if ("_tag" in layout) return layout
  const tensors = new Map<string, TensorEntry>()
  for (const r of layout.tensors) {
    tensors.set(r.name, { name: r.name, dtype: r.dtype, shape: r.shape, bytes: bytes.subarray(layout.dataStart + r.begin, layout.dataStart + r.end) })
  }
  return { file, metadata: layout.metadata, tensors }
}

/** Parses and validates a whole safetensors buffer; `file` is used in errors. */
export const decodeSafetensors = (bytes: Uint8Array, file: string): Effect.Effect<SafetensorsContents, SafetensorsFormatError> =>
  Effect.suspend(() => {
    const r = decode(bytes, file)
    return "_tag" in r ? Effect.fail(r) : Effect.succeed(r)
  })
