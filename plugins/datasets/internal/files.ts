/**
 * Reading dataset files: whole-file reads with a size cap, transparent gzip
 * (detected by magic bytes, not by extension) with a cap on the inflated size,
 * and corrupt-gzip errors that locate the compressed byte where inflation
 * first fails.
 */
import * as fs from "node:fs/promises"
import * as zlib from "node:zlib"
import { Effect } from "effect"
import { CorruptGzipError, FileReadError } from "../errors.ts"

/** Largest file or inflated stream the readers accept (1 GiB; ImageNet-scale data uses image folders). */
export const MAX_FILE_BYTES = 1 << 30

const reasonOf = (e: unknown): string => {
  const err = e as NodeJS.ErrnoException
  if (err?.code === "ENOENT") return "no such file"
  if (err?.code === "EACCES") return "permission denied"
  if (err?.code === "EISDIR") return "is a folder, expected a file"
  return String(err?.message ?? e)
}

/** Reads a whole file, refusing files over `maxBytes`. */
export const readWhole = (file: string, maxBytes: number = MAX_FILE_BYTES): Effect.Effect<Uint8Array, FileReadError> =>
  Effect.tryPromise({
    try: async () => {
      const st = await fs.stat(file)
      if (!st.isFile()) throw Object.assign(new Error("not a regular file"), { code: st.isDirectory() ? "EISDIR" : "EINVAL" })
      if (st.size > maxBytes) throw new Error(`file is ${st.size} bytes, over the ${maxBytes}-byte limit`)
      return new Uint8Array(await fs.readFile(file))
    },
    catch: (e) => new FileReadError({ file, reason: reasonOf(e) }),
  })

/** True when `bytes` starts with the gzip magic 1f 8b. */
export const isGzip = (bytes: Uint8Array): boolean => bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b

const inflates = (bytes: Uint8Array, length: number): boolean => {
  try {
    zlib.gunzipSync(bytes.subarray(0, length), { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength: MAX_FILE_BYTES })
    return true
  } catch {
    return false
  }
}

/**
 * Smallest prefix length at which inflation fails: the compressed offset of
 * the corruption. Binary search over prefixes inflated with a sync flush
 * (a clean prefix does not fail); runs only on the error path.
 */
const locateCorruption = (bytes: Uint8Array): number => {
  if (inflates(bytes, bytes.length)) return bytes.length // body inflates: trailer (CRC/size) or end-of-stream problem
  let lo = 0 // inflates
  let hi = bytes.length // fails
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1
    if (inflates(bytes, mid)) lo = mid
    else hi = mid
  }
  return hi - 1
}

/** Returns `bytes` inflated when they are gzip, else `bytes` unchanged. */
export const maybeGunzip = (
  file: string,
  bytes: Uint8Array,
  maxBytes: number = MAX_FILE_BYTES,
): Effect.Effect<Uint8Array, CorruptGzipError> => {
  if (!isGzip(bytes)) return Effect.succeed(bytes)
  return Effect.try({
    try: () => new Uint8Array(zlib.gunzipSync(bytes, { maxOutputLength: maxBytes })),
    catch: (e) => {
      const err = e as NodeJS.ErrnoException
      if (err?.code === "ERR_BUFFER_TOO_LARGE" || e instanceof RangeError)
        return new CorruptGzipError({ file, offset: 0, reason: `inflates to more than ${maxBytes} bytes` })
      const offset = err?.code === "Z_BUF_ERROR" ? bytes.length : locateCorruption(bytes)
      return new CorruptGzipError({ file, offset, reason: String(err?.message ?? e) })
    },
  })
}

/** Reads a file and inflates it when it is gzip. */
export const readMaybeGzip = (file: string): Effect.Effect<Uint8Array, FileReadError | CorruptGzipError> =>
  readWhole(file).pipe(Effect.flatMap((bytes) => maybeGunzip(file, bytes)))
