/**
 * The zip container of PyTorch checkpoints (`torch.save` since 1.6): the
 * central directory is read from the end-of-central-directory record (ZIP64
 * records too), every entry's local header is checked, and each entry is a
 * byte range of the file (stored) or inflated (deflate). Nothing is read
 * outside the file: every offset and size is checked against its length.
 */
import * as zlib from "node:zlib"
import { PthZipError } from "./errors.ts"

/** One archive member. */
export interface ZipEntry {
  readonly name: string
  /** Offset of the member's data in the archive. */
  readonly dataOffset: number
  readonly compressedSize: number
  readonly size: number
  /** 0 stored, 8 deflate. */
  readonly method: number
}

const EOCD = 0x06054b50
const EOCD64 = 0x06064b50
const EOCD64_LOCATOR = 0x07064b50
const CENTRAL = 0x02014b50
const LOCAL = 0x04034b50

const u16 = (b: Uint8Array, at: number) => (b[at] as number) | ((b[at + 1] as number) << 8)
const u32 = (b: Uint8Array, at: number) => (u16(b, at) | (u16(b, at + 2) << 16)) >>> 0
const u64 = (b: Uint8Array, at: number) => u32(b, at) + u32(b, at + 4) * 2 ** 32

/** True when `bytes` starts like a zip archive. */
export const isZip = (bytes: Uint8Array): boolean => bytes.length >= 4 && u32(bytes, 0) === LOCAL

/** The archive's members by name; throws {@link PthZipError} (caught by the caller's Effect.try). */
export const readZipDirectory = (file: string, b: Uint8Array): Map<string, ZipEntry> => {
  const fail = (offset: number, problem: string): never => {
    throw new PthZipError({ file, offset, problem })
  }
  if (b.length < 22) fail(0, `${b.length} bytes is too short for a zip archive (truncated?)`)
  let eocd = -1
  for (let at = b.length - 22; at >= Math.max(0, b.length - 22 - 0xffff); at--)
    if (u32(b, at) === EOCD) {
      eocd = at
      break
    }
  if (eocd < 0) fail(b.length, "no end-of-central-directory record (the file is truncated or not a zip)")
  let count = u16(b, eocd + 10)
  let cdSize = u32(b, eocd + 12)
  let cdOffset = u32(b, eocd + 16)
  if (eocd >= 20 && u32(b, eocd - 20) === EOCD64_LOCATOR) {
    const at = u64(b, eocd - 12)
    if (at + 56 > b.length || u32(b, at) !== EOCD64) fail(eocd - 20, "ZIP64 locator points outside the file")
    count = u64(b, at + 32)
    cdSize = u64(b, at + 40)
    cdOffset = u64(b, at + 48)
  }
  if (cdOffset + cdSize > b.length) fail(eocd, `central directory [${cdOffset}, ${cdOffset + cdSize}) reaches beyond the file (${b.length} bytes)`)
  const entries = new Map<string, ZipEntry>()
  let at = cdOffset
  for (let i = 0; i < count; i++) {
    if (at + 46 > b.length || u32(b, at) !== CENTRAL) fail(at, `central directory entry ${i} of ${count} is missing or corrupt`)
    const method = u16(b, at + 10)
    let compressedSize = u32(b, at + 20)
    let size = u32(b, at + 24)
    const nameLen = u16(b, at + 28)
    const extraLen = u16(b, at + 30)
    const commentLen = u16(b, at + 32)
    let local = u32(b, at + 42)
    if (at + 46 + nameLen + extraLen > b.length) fail(at, "central directory entry runs past the end of the file")
    const name = new TextDecoder().decode(b.subarray(at + 46, at + 46 + nameLen))
    // ZIP64 extra field: the 0xffffffff fields, in order size, compressed size, local offset.
    for (let e = at + 46 + nameLen; e + 4 <= at + 46 + nameLen + extraLen; ) {
      const id = u16(b, e)
      const len = u16(b, e + 2)
      if (id === 0x0001) {
        let p = e + 4
        if (size === 0xffffffff) (size = u64(b, p)), (p += 8)
        if (compressedSize === 0xffffffff) (compressedSize = u64(b, p)), (p += 8)
        if (local === 0xffffffff) local = u64(b, p)
      }
      e += 4 + len
    }
    if (method !== 0 && method !== 8) fail(at, `entry ${name} uses compression method ${method}; expected 0 (stored) or 8 (deflate)`)
    if (local + 30 > b.length || u32(b, local) !== LOCAL) fail(local, `entry ${name}: local header missing (the file is truncated or corrupt)`)
    const dataOffset = local + 30 + u16(b, local + 26) + u16(b, local + 28)
    if (dataOffset + compressedSize > b.length)
      fail(dataOffset, `entry ${name} needs bytes [${dataOffset}, ${dataOffset + compressedSize}) but the file has ${b.length} (truncated)`)
    entries.set(name, { name, dataOffset, compressedSize, size, method })
    at += 46 + nameLen + extraLen + commentLen
  }
  return entries
}

/** The bytes of one member (a view for stored members). */
export const entryBytes = (file: string, b: Uint8Array, e: ZipEntry): Uint8Array => {
  const raw = b.subarray(e.dataOffset, e.dataOffset + e.compressedSize)
  if (e.method === 0) return raw
  try {
    const out = new Uint8Array(zlib.inflateRawSync(raw, { maxOutputLength: Math.max(1, e.size) }))
    if (out.length !== e.size) throw new Error(`inflated to ${out.length} bytes, the directory says ${e.size}`)
    return out
  } catch (err) {
    throw new PthZipError({ file, offset: e.dataOffset, problem: `entry ${e.name}: ${err instanceof Error ? err.message : String(err)}` })
  }
}
