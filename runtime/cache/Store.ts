/**
 * The content-addressed artifact store (default `.ssl-kd/` in the working
 * directory). Each entry is a folder `entries/<k0k1>/<key>/` holding
 * `manifest.json` and `payload/<files>`, with a sha256 per payload file.
 *
 * Writes go to `tmp/` and are renamed into place, so an entry is either
 * complete or absent; a killed run leaves only a temp folder, which nothing
 * reads and `cache gc` removes. A corrupt entry is reported, moved to
 * `corrupt/` and recomputed, never used. Per-key locks keep two runs from
 * computing the same entry at once.
 */
import * as fsSync from "node:fs"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Context, Effect, Schema } from "effect"
import { CorruptEntryError, ioError, StoreIOError } from "./errors.ts"
import { sha256 } from "./hash.ts"
import { withLock } from "./lock.ts"
import { Manifest, type PayloadFile } from "./manifest.ts"
import type { RemoteStoreShape } from "./remoteStore.ts"
import { checkNoLinks, readBounded, realFolder, regularSize, UnsafePathError, writeNewFileSync } from "./safeFs.ts"

export { ensureStore, STORE_MARKER } from "./marker.ts"

export type Lookup =
  | { readonly _tag: "Hit"; readonly manifest: Manifest }
  | { readonly _tag: "Miss" }
  | { readonly _tag: "Corrupt"; readonly reason: string }

/** How thoroughly `lookup` checks an entry: file sizes only, or full checksums. */
export type VerifyLevel = "size" | "full"

export interface StoreShape {
  readonly root: string
  readonly entryDir: (key: string) => string
  readonly lookup: (key: string, level: VerifyLevel) => Effect.Effect<Lookup, StoreIOError>
  /** Payload of a hit, each file checked against its checksum as it is read. */
  readonly readPayload: (manifest: Manifest) => Effect.Effect<ReadonlyMap<string, Uint8Array>, CorruptEntryError | StoreIOError>
  /**
   * Write an entry atomically. With `replace`, an existing entry of the same
   * key is swapped out (used by `--force`); otherwise an existing valid entry
   * written meanwhile by another run wins and ours is discarded.
   */
  readonly commit: (
    manifest: Omit<Manifest, "files">,
    files: ReadonlyArray<{ readonly name: string; readonly bytes: Uint8Array }>,
    options: CommitOptions,
  ) => Effect.Effect<Manifest, StoreIOError>
  /** The sidecar files of an entry (beside its manifest, outside the payload: e.g. the stage's metrics); none when absent. */
  readonly readSidecars: (key: string) => Effect.Effect<ReadonlyMap<string, Uint8Array>, StoreIOError>
  /** Move a corrupt entry aside to `corrupt/` (kept for inspection, never read). */
  readonly quarantine: (key: string, reason: string) => Effect.Effect<string, StoreIOError>
  readonly remove: (key: string) => Effect.Effect<void, StoreIOError>
  readonly keys: () => Effect.Effect<ReadonlyArray<string>, StoreIOError>
  readonly withKeyLock: <A, E, R>(
    key: string,
    purpose: string,
    effect: Effect.Effect<A, E, R>,
    onWait?: (owner: { pid: number; purpose: string } | undefined) => Effect.Effect<void>,
  ) => Effect.Effect<A, E | StoreIOError, R>
  /** A folder private to `key` that survives interruption (training checkpoints). */
  readonly scratchDir: (key: string) => string
  /** Create `scratchDir(key)` as a real folder (a symbolic link in its place is removed, never followed). */
  readonly prepareScratch: (key: string) => Effect.Effect<string, StoreIOError>
  /** The remote store this one reads through to (`--remote-store`, remoteStore.ts); absent for a store on its own. */
  readonly remote?: RemoteStoreShape
}

/**
 * `replace`: an existing entry of the key is swapped out (`--force`).
 * `sidecars`: files written beside the manifest, in the same atomic commit,
 * that describe how the entry was made rather than what it holds (the
 * stage's metrics); not checksummed, never part of the payload.
 */
export interface CommitOptions {
  readonly replace: boolean
  readonly sidecars?: ReadonlyArray<{ readonly name: string; readonly bytes: Uint8Array }>
}

/** A sidecar's name: one plain file name beside manifest.json (never the manifest, the payload folder or a path). */
export const isSidecarName = (name: string): boolean => /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/.test(name) && name !== "manifest.json" && name !== "payload"

/** Largest sidecar read back (metrics of a long training: a few MiB at most). */
const MAX_SIDECAR_BYTES = 64 << 20

export class ArtifactStore extends Context.Service<ArtifactStore, StoreShape>()("ssl-kd/ArtifactStore") {}

const KEY = /^[0-9a-f]{64}$/
const decodeManifest = Schema.decodeUnknownExit(Manifest)

const safePayloadName = (name: string): boolean =>
  name.length > 0 && !path.isAbsolute(name) && !name.split(/[\\/]/).some((p) => p === ".." || p === "." || p === "")

/** Largest manifest read (a manifest holds names and checksums, never data). */
const MAX_MANIFEST_BYTES = 16 << 20

/** The manifest of a valid existing entry (full checksums), read synchronously; undefined when absent or invalid. */
const checkEntrySync = (dir: string, key: string): Manifest | undefined => {
  try {
    const decoded = decodeManifest(JSON.parse(fsSync.readFileSync(path.join(dir, "manifest.json"), "utf8")))
    if (decoded._tag === "Failure" || decoded.value.key !== key) return undefined
    for (const f of decoded.value.files) {
      if (!safePayloadName(f.name)) return undefined
      const file = path.join(dir, "payload", f.name)
      const st = fsSync.lstatSync(file)
      if (!st.isFile() || st.size !== f.size || sha256(fsSync.readFileSync(file)) !== f.sha256) return undefined
    }
    return decoded.value
  } catch {
    return undefined
  }
}

const exists = async (p: string): Promise<boolean> => {
  try {
    await fs.access(p)
    return true
  } catch {
    return false
  }
}

/** Check an entry folder without following links; `undefined` reason means valid. */
const checkEntry = async (dir: string, key: string, level: VerifyLevel): Promise<{ manifest: Manifest } | { reason: string } | "missing"> => {
  const base = path.dirname(path.dirname(path.dirname(dir)))
  const rel = path.relative(base, dir)
  try {
    if ((await checkNoLinks(base, rel)) === "absent") return "missing"
  } catch (e) {
    if (e instanceof UnsafePathError) return { reason: e.message }
    throw e
  }
  const manifestFile = path.join(dir, "manifest.json")
  const manifestSize = await regularSize(manifestFile)
  if (manifestSize === "missing") return { reason: "manifest.json is missing" }
  if (manifestSize === "not a regular file") return { reason: "manifest.json is not a regular file" }
  if (manifestSize > MAX_MANIFEST_BYTES) return { reason: `manifest.json has ${manifestSize} bytes, over ${MAX_MANIFEST_BYTES}` }
  const raw = new TextDecoder().decode(await readBounded(manifestFile, manifestSize))
  let parsed: unknown
  try {
    parsed = JSON.parse(raw)
  } catch {
    return { reason: "manifest.json is not valid JSON" }
  }
  const decoded = decodeManifest(parsed)
  if (decoded._tag === "Failure") return { reason: "manifest.json does not match the manifest schema" }
  const manifest = decoded.value
  if (manifest.key !== key) return { reason: `manifest names key ${manifest.key.slice(0, 12)}, not ${key.slice(0, 12)}` }
  for (const f of manifest.files) {
    if (!safePayloadName(f.name)) return { reason: `payload name ${JSON.stringify(f.name)} is not a safe relative path` }
    const file = path.join(dir, "payload", f.name)
    try {
      await checkNoLinks(dir, path.join("payload", f.name))
    } catch (e) {
      if (e instanceof UnsafePathError) return { reason: `payload file ${f.name}: ${e.problem}` }
      throw e
    }
    const size = await regularSize(file)
    if (size === "missing") return { reason: `payload file ${f.name} is missing` }
    if (size === "not a regular file") return { reason: `payload file ${f.name} is not a regular file` }
    if (size !== f.size) return { reason: `payload file ${f.name} has ${size} bytes, manifest says ${f.size} bytes` }
    if (level === "full") {
      const bytes = await readBounded(file, f.size).catch((e: unknown) => (e instanceof UnsafePathError ? e : Promise.reject(e)))
      if (bytes instanceof UnsafePathError) return { reason: `payload file ${f.name} ${bytes.problem}` }
      if (bytes.byteLength !== f.size || sha256(bytes) !== f.sha256) return { reason: `payload file ${f.name} fails its sha256 checksum` }
    }
  }
  return { manifest }
}

/** The store on the local file system, rooted at `root`. */
export const makeFileStore = (root: string): StoreShape => {
  const abs = path.resolve(root)
  const entryDir = (key: string) => path.join(abs, "entries", key.slice(0, 2), key)

  const lookup: StoreShape["lookup"] = (key, level) =>
    Effect.tryPromise({
      try: async (): Promise<Lookup> => {
        if (!KEY.test(key)) return { _tag: "Corrupt", reason: `malformed key ${key}` }
        const r = await checkEntry(entryDir(key), key, level)
        if (r === "missing") return { _tag: "Miss" }
        if ("reason" in r) return { _tag: "Corrupt", reason: r.reason }
        return { _tag: "Hit", manifest: r.manifest }
      },
      catch: ioError("read entry", entryDir(key)),
    })

  const readPayload: StoreShape["readPayload"] = (manifest) =>
    Effect.gen(function* () {
      const dir = entryDir(manifest.key)
      const out = new Map<string, Uint8Array>()
      for (const f of manifest.files) {
        const file = path.join(dir, "payload", f.name)
        const corrupt = (reason: string) => new CorruptEntryError({ key: manifest.key, path: file, reason })
        if (!safePayloadName(f.name)) return yield* corrupt(`payload name ${JSON.stringify(f.name)} is not a safe relative path`)
        const bytes = yield* Effect.tryPromise({
          try: async () => {
            await checkNoLinks(abs, path.relative(abs, file))
            return await readBounded(file, f.size)
          },
          catch: (e) => (e instanceof UnsafePathError ? corrupt(e.message) : ioError("read", file)(e)),
        })
        if (bytes.length !== f.size || sha256(bytes) !== f.sha256) return yield* corrupt(`payload file ${f.name} fails its checksum`)
        out.set(f.name, bytes)
      }
      return out
    })

  const quarantine: StoreShape["quarantine"] = (key, reason) => {
    const target = path.join(abs, "corrupt", `${key}.${Date.now()}`)
    return Effect.tryPromise({
      try: async () => {
        await fs.mkdir(path.dirname(target), { recursive: true })
        try {
          await fs.rename(entryDir(key), target)
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e
        }
        await fs.writeFile(`${target}.reason.txt`, `${reason}\n`).catch(() => undefined)
        return target
      },
      catch: ioError("quarantine", entryDir(key)),
    })
  }

  /**
   * The whole commit is one synchronous step: nothing else runs on this
   * thread meanwhile (no training stage delays it), and an interrupt cannot
   * land in the middle, so the entry is either renamed into place or its
   * temp folder removed. A SIGKILL can leave only a temp folder, which
   * nothing reads and `cache gc` removes.
   */
  const commitSync = (partial: Omit<Manifest, "files">, files: ReadonlyArray<{ readonly name: string; readonly bytes: Uint8Array }>, options: CommitOptions, tmp: string): Manifest => {
    const key = partial.key
    const replace = options.replace
    const payload: Array<PayloadFile> = []
    fsSync.mkdirSync(path.join(abs, "tmp"), { recursive: true })
    for (const f of files) {
      if (!safePayloadName(f.name)) throw new Error(`artifact file name ${JSON.stringify(f.name)} is not a safe relative path`)
    }
    for (const f of options.sidecars ?? []) {
      if (!isSidecarName(f.name)) throw new Error(`sidecar file name ${JSON.stringify(f.name)} is not a plain file name`)
    }
    for (const sub of ["tmp", "entries", path.join("entries", key.slice(0, 2))]) {
      const st = fsSync.lstatSync(path.join(abs, sub), { throwIfNoEntry: false })
      if (st?.isSymbolicLink() === true) throw new Error(`${path.join(abs, sub)} is a symbolic link (links inside the store are never followed)`)
    }
    fsSync.mkdirSync(path.join(tmp, "payload"), { recursive: true })
    for (const f of files) {
      const file = path.join(tmp, "payload", f.name)
      fsSync.mkdirSync(path.dirname(file), { recursive: true })
      writeNewFileSync(file, f.bytes)
      payload.push({ name: f.name, size: f.bytes.byteLength, sha256: sha256(f.bytes) })
    }
    for (const f of options.sidecars ?? []) writeNewFileSync(path.join(tmp, f.name), f.bytes)
    const manifest: Manifest = { ...partial, files: payload }
    writeNewFileSync(path.join(tmp, "manifest.json"), new TextEncoder().encode(JSON.stringify(manifest, null, 2)))
    const target = entryDir(key)
    fsSync.mkdirSync(path.dirname(target), { recursive: true })
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        fsSync.renameSync(tmp, target)
        return manifest
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code
        if (code !== "ENOTEMPTY" && code !== "EEXIST") throw e
      }
      if (!replace) {
        const existing = checkEntrySync(target, key)
        if (existing !== undefined) return existing
      }
      // Replace (forced) or existing entry corrupt: move it aside, then retry.
      const aside = path.join(abs, "tmp", `${key}.replaced.${process.pid}.${Date.now()}`)
      try {
        fsSync.renameSync(target, aside)
      } catch {
        // gone meanwhile
      }
      fsSync.rmSync(aside, { recursive: true, force: true })
    }
    throw new Error("could not rename the new entry into place after 3 attempts")
  }

  const commit: StoreShape["commit"] = (partial, files, options) => {
    const tmp = path.join(abs, "tmp", `${partial.key}.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2, 8)}`)
    return Effect.try({
      try: () => {
        try {
          return commitSync(partial, files, options, tmp)
        } finally {
          fsSync.rmSync(tmp, { recursive: true, force: true })
        }
      },
      catch: ioError("write entry", tmp),
    }).pipe(Effect.uninterruptible)
  }

  const keys: StoreShape["keys"] = () =>
    Effect.tryPromise({
      try: async () => {
        const base = path.join(abs, "entries")
        if (!(await exists(base))) return []
        const out: Array<string> = []
        for (const shard of (await fs.readdir(base)).sort()) {
          for (const k of (await fs.readdir(path.join(base, shard))).sort()) if (KEY.test(k)) out.push(k)
        }
        return out
      },
      catch: ioError("list", path.join(abs, "entries")),
    })

  const readSidecars: StoreShape["readSidecars"] = (key) =>
    Effect.tryPromise({
      try: async () => {
        const out = new Map<string, Uint8Array>()
        if (!KEY.test(key)) return out
        const dir = entryDir(key)
        let names: Array<string>
        try {
          if ((await checkNoLinks(abs, path.relative(abs, dir))) === "absent") return out
          names = await fs.readdir(dir)
        } catch (e) {
          if (e instanceof UnsafePathError) return out
          throw e
        }
        for (const name of names.sort()) {
          if (!isSidecarName(name) || name.endsWith(".tmp")) continue
          const file = path.join(dir, name)
          const size = await regularSize(file)
          if (typeof size !== "number" || size > MAX_SIDECAR_BYTES) continue
          out.set(name, await readBounded(file, size))
        }
        return out
      },
      catch: ioError("read sidecars of", entryDir(key)),
    })

  return {
    root: abs,
    entryDir,
    lookup,
    readPayload,
    readSidecars,
    commit,
    quarantine,
    prepareScratch: (key) =>
      Effect.tryPromise({
        try: async () => {
          await fs.mkdir(abs, { recursive: true })
          return await realFolder(abs, path.join("scratch", key))
        },
        catch: ioError("prepare scratch folder", path.join(abs, "scratch", key)),
      }),
    remove: (key) => Effect.tryPromise({ try: () => fs.rm(entryDir(key), { recursive: true, force: true }), catch: ioError("remove", entryDir(key)) }),
    keys,
    withKeyLock: (key, purpose, effect, onWait) => withLock(path.join(abs, "locks", `${key}.lock`), purpose, effect, onWait),
    scratchDir: (key) => path.join(abs, "scratch", key),
  }
}


export { CorruptEntryError, StoreIOError }
