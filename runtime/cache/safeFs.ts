/**
 * File access inside the store that never follows a symbolic link: every
 * path component below the store root is checked with `lstat`, files are
 * opened with `O_NOFOLLOW`, must be regular files, and reads are bounded by
 * the size the manifest declares (a device or a growing file is never read
 * without bound).
 */
import * as fs from "node:fs"
import * as fsp from "node:fs/promises"
import * as path from "node:path"

/** Thrown (inside store promises only) when a path inside the store is not what it should be. */
export class UnsafePathError extends Error {
  constructor(readonly file: string, readonly problem: string) {
    super(`${file} ${problem}`)
  }
}

/** Check that no component of `rel` below `base` is a symbolic link; the last must be `kind` when it exists. */
export const checkNoLinks = async (base: string, rel: string): Promise<"present" | "absent"> => {
  let cur = base
  const parts = rel.split(/[\\/]/).filter((p) => p !== "")
  for (const p of parts) {
    cur = path.join(cur, p)
    let st: fs.Stats
    try {
      st = await fsp.lstat(cur)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return "absent"
      throw e
    }
    if (st.isSymbolicLink()) throw new UnsafePathError(cur, "is a symbolic link (links inside the store are never followed)")
  }
  return "present"
}

/**
 * Read a regular file of `expected` bytes without following links; reads at
 * most `expected + 1` bytes, so a size mismatch is found without reading a
 * device or a huge file. Returns the bytes read (length != expected on mismatch).
 */
export const readBounded = async (file: string, expected: number): Promise<Uint8Array> => {
  const handle = await fsp.open(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK)
  try {
    const st = await handle.stat()
    if (!st.isFile()) throw new UnsafePathError(file, "is not a regular file")
    const buf = new Uint8Array(expected + 1)
    let at = 0
    while (at < buf.length) {
      const { bytesRead } = await handle.read(buf, at, Math.min(buf.length - at, 1 << 30), at)
      if (bytesRead === 0) break
      at += bytesRead
    }
    return buf.subarray(0, at)
  } finally {
    await handle.close()
  }
}

/** Size of a regular file reached without following links, or a problem. */
export const regularSize = async (file: string): Promise<number | "missing" | "not a regular file"> => {
  try {
    const st = await fsp.lstat(file)
    return st.isFile() ? st.size : "not a regular file"
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return "missing"
    throw e
  }
}

/**
 * A real folder at `dir` (below `base`, which must exist): a symbolic link or
 * a file in its place, or at any component between, is removed (not followed)
 * and a folder created.
 */
export const realFolder = async (base: string, rel: string): Promise<string> => {
  let cur = base
  for (const p of rel.split(/[\\/]/).filter((s) => s !== "")) {
    cur = path.join(cur, p)
    let st: fs.Stats | undefined
    try {
      st = await fsp.lstat(cur)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e
    }
    if (st !== undefined && !st.isDirectory()) {
      await fsp.rm(cur, { force: true })
      st = undefined
    }
    if (st === undefined) await fsp.mkdir(cur).catch((e: NodeJS.ErrnoException) => (e.code === "EEXIST" ? undefined : Promise.reject(e)))
  }
  return cur
}

/** Synchronous variants used by the commit, which runs as one uninterruptible step. */
export const writeNewFileSync = (file: string, bytes: Uint8Array): void => {
  const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o644)
  try {
    let at = 0
    while (at < bytes.byteLength) at += fs.writeSync(fd, bytes, at, Math.min(bytes.byteLength - at, 1 << 30))
  } finally {
    fs.closeSync(fd)
  }
}
