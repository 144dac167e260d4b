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
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Context, Effect, Layer, Schema } from "effect"
import { CorruptEntryError, ioError, StoreIOError } from "./errors.ts"
import { sha256 } from "./hash.ts"
import { withLock } from "./lock.ts"
import { Manifest, type PayloadFile } from "./manifest.ts"

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
    options: { readonly replace: boolean },
  ) => Effect.Effect<Manifest, StoreIOError>
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
}

export class ArtifactStore extends Context.Service<ArtifactStore, StoreShape>()("ssl-kd/ArtifactStore") {}

const KEY = /^[0-9a-f]{64}$/
const decodeManifest = Schema.decodeUnknownExit(Manifest)

const safePayloadName = (name: string): boolean =>
  name.length > 0 && !path.isAbsolute(name) && !name.split(/[\\/]/).some((p) => p === ".." || p === "." || p === "")

const exists = async (p: string): Promise<boolean> => {
  try {
    await fs.access(p)
    return true
  } catch {
    return false
  }
}

/** Check an entry folder; `undefined` reason means valid. */
const checkEntry = async (dir: string, key: string, level: VerifyLevel): Promise<{ manifest: Manifest } | { reason: string } | "missing"> => {
  let raw: string
  try {
    raw = await fs.readFile(path.join(dir, "manifest.json"), "utf8")
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return (await exists(dir)) ? { reason: "manifest.json is missing" } : "missing"
    throw e
  }
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
    let size: number
    try {
      size = (await fs.stat(file)).size
    } catch {
      return { reason: `payload file ${f.name} is missing` }
    }
    if (size !== f.size) return { reason: `payload file ${f.name} has ${size} bytes, manifest says ${f.size} bytes` }
    if (level === "full" && sha256(await fs.readFile(file)) !== f.sha256) {
      return { reason: `payload file ${f.name} fails its sha256 checksum` }
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
        const bytes = yield* Effect.tryPromise({ try: () => fs.readFile(file), catch: ioError("read", file) })
        if (bytes.length !== f.size || sha256(bytes) !== f.sha256) {
          return yield* new CorruptEntryError({ key: manifest.key, path: file, reason: `payload file ${f.name} fails its checksum` })
        }
        out.set(f.name, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength))
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

  const commit: StoreShape["commit"] = (partial, files, options) => {
    const key = partial.key
    const tmp = path.join(abs, "tmp", `${key}.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2, 8)}`)
    const write = Effect.tryPromise({
      try: async (): Promise<Manifest> => {
        const payload: Array<PayloadFile> = []
        await fs.mkdir(path.join(tmp, "payload"), { recursive: true })
        for (const f of files) {
          if (!safePayloadName(f.name)) throw new Error(`artifact file name ${JSON.stringify(f.name)} is not a safe relative path`)
          const file = path.join(tmp, "payload", f.name)
          await fs.mkdir(path.dirname(file), { recursive: true })
          await fs.writeFile(file, f.bytes)
          payload.push({ name: f.name, size: f.bytes.byteLength, sha256: sha256(f.bytes) })
        }
        const manifest: Manifest = { ...partial, files: payload }
        await fs.writeFile(path.join(tmp, "manifest.json"), JSON.stringify(manifest, null, 2))
        const target = entryDir(key)
        await fs.mkdir(path.dirname(target), { recursive: true })
        for (let attempt = 0; attempt < 3; attempt++) {
          try {
            await fs.rename(tmp, target)
            return manifest
          } catch (e) {
            const code = (e as NodeJS.ErrnoException).code
            if (code !== "ENOTEMPTY" && code !== "EEXIST") throw e
          }
          const existing = await checkEntry(target, key, "full")
          if (!options.replace && existing !== "missing" && "manifest" in existing) {
            await fs.rm(tmp, { recursive: true, force: true })
            return existing.manifest
          }
          // Replace (forced) or existing entry corrupt: move it aside, then retry.
          const aside = path.join(abs, "tmp", `${key}.replaced.${process.pid}.${Date.now()}`)
          await fs.rename(target, aside).catch(() => undefined)
          await fs.rm(aside, { recursive: true, force: true })
        }
        throw new Error("could not rename the new entry into place after 3 attempts")
      },
      catch: ioError("write entry", tmp),
    })
    // Whatever happens (failure, interruption), no temp folder is left behind by a live process.
    return write.pipe(Effect.ensuring(Effect.promise(() => fs.rm(tmp, { recursive: true, force: true }))))
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

  return {
    root: abs,
    entryDir,
    lookup,
    readPayload,
    commit,
    quarantine,
    remove: (key) => Effect.tryPromise({ try: () => fs.rm(entryDir(key), { recursive: true, force: true }), catch: ioError("remove", entryDir(key)) }),
    keys,
    withKeyLock: (key, purpose, effect, onWait) => withLock(path.join(abs, "locks", `${key}.lock`), purpose, effect, onWait),
    scratchDir: (key) => path.join(abs, "scratch", key),
  }
}

/** Layer of the file-system store rooted at `root`. */
export const layerFile = (root: string): Layer.Layer<ArtifactStore> => Layer.succeed(ArtifactStore, makeFileStore(root))

export { CorruptEntryError, StoreIOError }
