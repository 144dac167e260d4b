/**
 * A remote store behind the local one: the local store (`--cache-dir`) is a
 * read-through cache in front of a store every machine reaches
 * (`--remote-store`).
 *
 * - A lookup that misses locally asks the remote. A full lookup (the run
 *   about to use the entry) copies it into the local store, checksums
 *   verified; a size lookup (`plan`) only reports it, downloading nothing.
 * - A commit goes to the local store, then to the remote, payload first and
 *   the manifest last (the commit point on the remote too). An existing valid
 *   remote entry wins unless the commit replaces (`--force`).
 * - A local entry the remote lacks (computed before the remote was attached,
 *   or its upload interrupted) is uploaded the next time a run uses it.
 * - A corrupt local entry is repaired from the remote; a corrupt remote entry
 *   is reported as corrupt (the run quarantines it on both sides and
 *   recomputes).
 * - Per-epoch checkpoints (stage scratch) live in the remote when it offers a
 *   folder every runner reaches (`file://`), so a stage retried on another
 *   machine resumes where the dead one stopped.
 * - Run records go to both, so `cache gc` on the remote keeps what recent
 *   runs of any machine used.
 * - A stage to compute is locked here and on the remote (lock files that a
 *   holder on another host keeps alive by its heartbeat): two machines that
 *   miss the same entry compute it once, the second then copies it.
 *
 * `RemoteStoreShape` is what a backend implements. `file://` (a folder on a
 * shared file system, laid out as a local store) is the one built in; an
 * S3-compatible backend maps it onto objects `entries/<key>/payload/<name>`,
 * `entries/<key>/<sidecar>` and `entries/<key>/manifest.json` (written last,
 * with a conditional put where the commit must not replace) and LIST for
 * `keys`; it would have no shared scratch (checkpoints then stay on the
 * machine that wrote them).
 */
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Data, Effect } from "effect"
import type { CorruptEntryError, NotAStoreError, StoreIOError } from "./errors.ts"
import type { Manifest } from "./manifest.ts"
import { ensureStore } from "./marker.ts"
import { writeRunRecord, type RunReport } from "./runRecord.ts"
import { makeFileStore, type CommitOptions, type Lookup, type StoreShape, type VerifyLevel } from "./Store.ts"

/** What a remote store backend implements. */
export interface RemoteStoreShape {
  /** The store's address as the user gave it (messages, `cache` commands). */
  readonly url: string
  readonly lookup: (key: string, level: VerifyLevel) => Effect.Effect<Lookup, StoreIOError>
  readonly readPayload: (manifest: Manifest) => Effect.Effect<ReadonlyMap<string, Uint8Array>, CorruptEntryError | StoreIOError>
  readonly readSidecars: (key: string) => Effect.Effect<ReadonlyMap<string, Uint8Array>, StoreIOError>
  readonly commit: StoreShape["commit"]
  readonly quarantine: (key: string, reason: string) => Effect.Effect<string, StoreIOError>
  readonly remove: (key: string) => Effect.Effect<void, StoreIOError>
  readonly keys: () => Effect.Effect<ReadonlyArray<string>, StoreIOError>
  readonly recordRun: (report: RunReport) => Effect.Effect<void>
  /**
   * A per-key lock every machine sees (file://: the store's lock files, which
   * a holder on another host keeps by its heartbeat), so two machines that
   * miss the same entry compute it once; absent where the backend has none.
   */
  readonly withKeyLock?: StoreShape["withKeyLock"]
  /** A scratch folder per key that every runner reaches; absent where the backend has none. */
  readonly scratch?: { readonly dir: (key: string) => string; readonly prepare: (key: string) => Effect.Effect<string, StoreIOError> }
  /** The remote as a store folder, where it is one (`file://`): `cache ls|verify|gc --remote-store` work on it. */
  readonly folder?: StoreShape
}

/** A `--remote-store` value this build cannot open. */
export class RemoteStoreUrlError extends Data.TaggedError("RemoteStoreUrlError")<{ readonly value: string; readonly reason: string }> {
  override get message() {
    return `--remote-store ${JSON.stringify(this.value)}: ${this.reason}`
  }
}

/** The scheme of a `--remote-store` value (`file`, `s3`, ...), lower-cased; undefined for a plain path. */
export const urlScheme = (value: string): string | undefined => /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(value)?.[1]?.toLowerCase()

/** `file:///abs/path`, or a plain path (relative to `cwd`), to the folder of the remote store. */
export const remoteStoreFolder = (value: string, cwd: string): Effect.Effect<string, RemoteStoreUrlError> => {
  const scheme = urlScheme(value)
  if (scheme === undefined) {
    if (value.trim() === "") return Effect.fail(new RemoteStoreUrlError({ value, reason: "expected file:///path/to/shared/store or a folder path" }))
    return Effect.succeed(path.resolve(cwd, value))
  }
  if (scheme !== "file") {
    return Effect.fail(
      new RemoteStoreUrlError({ value, reason: `the ${scheme}:// scheme has no backend in this build (built in: file:// for a folder on a shared file system; others implement RemoteStoreShape of runtime/cache/remoteStore.ts)` }),
    )
  }
  return Effect.try({ try: () => fileURLToPath(value), catch: (e) => new RemoteStoreUrlError({ value, reason: `not a file URL with an absolute path (${e instanceof Error ? e.message : String(e)})` }) })
}

/**
 * The built-in backend: a store folder on a shared file system. With
 * `create` (the default) a missing or empty folder is made a store; without
 * (read-only commands: `plan`, `cache ls`) it is taken as an empty store and
 * nothing is written. A folder holding other files is refused either way.
 */
export const fileRemoteStore = (url: string, folder: string, options: { readonly create?: boolean } = {}): Effect.Effect<RemoteStoreShape, StoreIOError | NotAStoreError> =>
  Effect.gen(function* () {
    yield* ensureStore(folder, { create: options.create ?? true })
    const store = makeFileStore(folder)
    return {
      url,
      lookup: store.lookup,
      readPayload: store.readPayload,
      readSidecars: store.readSidecars,
      commit: store.commit,
      quarantine: store.quarantine,
      remove: store.remove,
      keys: store.keys,
      recordRun: (report) => Effect.asVoid(writeRunRecord(store.root, report)),
      withKeyLock: store.withKeyLock,
      scratch: { dir: store.scratchDir, prepare: store.prepareScratch },
      folder: store,
    } satisfies RemoteStoreShape
  })

/** Open `--remote-store VALUE`. */
export const openRemoteStore = (value: string, cwd: string, options: { readonly create?: boolean } = {}) =>
  Effect.flatMap(remoteStoreFolder(value, cwd), (folder) => fileRemoteStore(value, folder, options))

/** The file store at `root`, reading through to `remote` when there is one. */
export const storeAt = (root: string, remote?: RemoteStoreShape): StoreShape =>
  remote === undefined ? makeFileStore(root) : readThrough(makeFileStore(root), remote)

/** The store a run uses when a remote is attached: `local` in front of `remote` (see the module comment). */
export const readThrough = (local: StoreShape, remote: RemoteStoreShape): StoreShape => {
  /** Keys this process saw valid on the remote (so a hit is not re-checked there every time). */
  const onRemote = new Set<string>()
  /** Keys whose remote entry failed verification: a quarantine moves it aside there too. */
  const corruptRemote = new Set<string>()

  const named = (m: ReadonlyMap<string, Uint8Array>) => [...m].map(([name, bytes]) => ({ name, bytes }))

  /** Copy an entry (payload checksummed as it is read, sidecars) from one store to the other; the copy's manifest. */
  const copy = (from: Pick<StoreShape, "readPayload" | "readSidecars">, to: Pick<StoreShape, "commit">, manifest: Manifest) =>
    Effect.gen(function* () {
      const { files: _files, ...partial } = manifest
      const files = yield* from.readPayload(manifest)
      const sidecars = yield* from.readSidecars(manifest.key)
      const copied = yield* to.commit(partial, named(files), { replace: false, sidecars: named(sidecars) })
      onRemote.add(manifest.key)
      return copied
    })

  /** Copy a remote entry into the local store; its local manifest. */
  const download = (manifest: Manifest) => copy(remote, local, manifest)

  /** Upload a valid local entry the remote lacks (or holds corrupt). */
  const publish = (manifest: Manifest) =>
    Effect.gen(function* () {
      if (onRemote.has(manifest.key)) return
      const there = yield* remote.lookup(manifest.key, "size")
      if (there._tag === "Hit") return void onRemote.add(manifest.key)
      if (there._tag === "Corrupt") yield* remote.quarantine(manifest.key, `replaced by a valid copy: ${there.reason}`)
      yield* copy(local, remote, manifest)
    })

  const fromRemote = (key: string, level: VerifyLevel, localProblem: string | undefined): Effect.Effect<Lookup, StoreIOError> =>
    Effect.gen(function* () {
      const there = yield* remote.lookup(key, level)
      if (there._tag === "Corrupt") {
        corruptRemote.add(key)
        return { _tag: "Corrupt", reason: `remote store ${remote.url}: ${there.reason}` } as const
      }
      if (there._tag === "Miss") return localProblem === undefined ? there : ({ _tag: "Corrupt", reason: localProblem } as const)
      if (level === "size") return there
      const got = yield* Effect.result(download(there.manifest))
      if (got._tag === "Success") return { _tag: "Hit", manifest: got.success } as const
      if (got.failure._tag === "CorruptEntryError") {
        corruptRemote.add(key)
        return { _tag: "Corrupt", reason: `remote store ${remote.url}: ${got.failure.reason}` } as const
      }
      return yield* Effect.fail(got.failure)
    })

  const lookup: StoreShape["lookup"] = (key, level) =>
    Effect.gen(function* () {
      const here = yield* local.lookup(key, level)
      if (here._tag === "Hit") {
        // a run about to use it: make sure the remote has it too
        if (level === "full") yield* publish(here.manifest).pipe(Effect.catchTag("CorruptEntryError", () => Effect.void))
        return here
      }
      if (here._tag === "Corrupt") {
        if (level === "size") {
          const there = yield* remote.lookup(key, "size")
          return there._tag === "Hit" ? there : here
        }
        // repair from the remote when it holds a valid copy
        yield* local.quarantine(key, here.reason)
        return yield* fromRemote(key, level, here.reason)
      }
      return yield* fromRemote(key, level, undefined)
    })

  const readPayload: StoreShape["readPayload"] = (manifest) =>
    Effect.gen(function* () {
      const here = yield* local.lookup(manifest.key, "size")
      if (here._tag === "Hit") {
        const files = yield* local.readPayload(here.manifest)
        yield* publish(here.manifest) // a run uses it: make sure the remote has it too
        return files
      }
      const fetched = yield* fromRemote(manifest.key, "full", here._tag === "Corrupt" ? here.reason : undefined)
      if (fetched._tag !== "Hit") return yield* local.readPayload(manifest) // fails, naming what is wrong locally
      return yield* local.readPayload(fetched.manifest)
    })

  const commit: StoreShape["commit"] = (partial, files, options: CommitOptions) =>
    Effect.gen(function* () {
      const manifest = yield* local.commit(partial, files, options)
      yield* remote.commit(partial, files, options)
      onRemote.add(partial.key)
      corruptRemote.delete(partial.key)
      return manifest
    }).pipe(Effect.uninterruptible)

  return {
    ...local,
    lookup,
    readPayload,
    readSidecars: (key) =>
      Effect.flatMap(local.readSidecars(key), (here) => (here.size > 0 ? Effect.succeed(here) : remote.readSidecars(key))),
    commit,
    quarantine: (key, reason) =>
      Effect.gen(function* () {
        const aside = yield* local.quarantine(key, reason)
        if (corruptRemote.delete(key)) yield* remote.quarantine(key, reason)
        onRemote.delete(key)
        return aside
      }),
    // this machine's lock first (cheap), then the remote's: a stage missed on two machines is computed once
    withKeyLock: (key, purpose, effect, onWait) =>
      local.withKeyLock(key, purpose, remote.withKeyLock === undefined ? effect : remote.withKeyLock(key, purpose, effect, onWait), onWait),
    scratchDir: remote.scratch?.dir ?? local.scratchDir,
    prepareScratch: remote.scratch?.prepare ?? local.prepareScratch,
    remote,
  }
}
