/**
 * Garbage collection of the store: temp folders and locks left by killed
 * runs, quarantined corrupt entries, scratch folders of committed entries,
 * and entries no recent run used (kept: every entry named by the newest
 * `keepRuns` run records of each pipeline and preset, and with `keepYoungerMs`
 * every entry committed that recently). Refuses to run while
 * another run is registered on the store.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Data, Effect } from "effect"
import { readRunRecords } from "./runRecord.ts"
import { ioError, type NotAStoreError, type StoreIOError } from "./errors.ts"
import { liveRuns, readOwner, staleReason, withLock } from "./lock.ts"
import { ensureStore } from "./marker.ts"
import type { StoreShape } from "./Store.ts"

export class StoreBusyError extends Data.TaggedError("StoreBusyError")<{
  readonly root: string
  readonly runs: ReadonlyArray<{ pid: number; purpose: string }>
}> {
  override get message() {
    return `cache gc: the store ${this.root} is in use by ${this.runs.map((r) => `pid ${r.pid} (${r.purpose})`).join(", ")}; retry when it ends`
  }
}

export interface GcOptions {
  readonly keepRuns: number
  readonly dryRun: boolean
  /** Also keep entries committed less than this long ago (their manifest's age); default 0. */
  readonly keepYoungerMs?: number
}

export interface GcReport {
  readonly removedEntries: ReadonlyArray<string>
  readonly keptEntries: number
  readonly removedTemp: number
  readonly removedCorrupt: number
  readonly removedScratch: number
  readonly freedBytes: number
}

const duSync = async (p: string): Promise<number> => {
  try {
    const st = await fs.lstat(p)
    if (!st.isDirectory()) return st.size
    let total = 0
    for (const n of await fs.readdir(p)) total += await duSync(path.join(p, n))
    return total
  } catch {
    return 0
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

const list = async (dir: string) => {
  try {
    return await fs.readdir(dir)
  } catch {
    return []
  }
}

export const collectGarbage = (store: StoreShape, options: GcOptions): Effect.Effect<GcReport, StoreBusyError | StoreIOError | NotAStoreError> => {
  const root = store.root
  const locks = path.join(root, "locks")
  const work = Effect.gen(function* () {
    const runs = yield* liveRuns(locks)
    if (runs.length > 0) return yield* new StoreBusyError({ root, runs })
    const records = yield* readRunRecords(root)
    const keep = new Set<string>()
    const seen = new Map<string, number>()
    for (const r of records) {
      // An interrupted run's record lists no finished stages: it does not take a complete run's place.
      if (r.interrupted) continue
      const id = `${r.pipeline}\u0000${r.preset ?? ""}`
      const n = seen.get(id) ?? 0
      if (n >= options.keepRuns) continue
      seen.set(id, n + 1)
      for (const s of r.stages) keep.add(s.key)
    }
    const keys = yield* store.keys()
    return yield* Effect.tryPromise({
      try: async (): Promise<GcReport> => {
        let freed = 0
        const drop = async (p: string) => {
          freed += await duSync(p)
          if (!options.dryRun) await fs.rm(p, { recursive: true, force: true })
        }
        const removedEntries: Array<string> = []
        const young = async (k: string) => {
          if ((options.keepYoungerMs ?? 0) <= 0) return false
          try {
            return Date.now() - (await fs.lstat(path.join(store.entryDir(k), "manifest.json"))).mtimeMs < options.keepYoungerMs!
          } catch {
            return false
          }
        }
        for (const k of keys) {
          if (keep.has(k) || (await young(k))) continue
          removedEntries.push(k)
          await drop(store.entryDir(k))
        }
        let removedTemp = 0
        for (const n of await list(path.join(root, "tmp"))) {
          const pid = Number(n.split(".")[1])
          if (Number.isInteger(pid) && alive(pid) && pid !== process.pid) continue
          removedTemp++
          await drop(path.join(root, "tmp", n))
        }
        for (const n of await list(locks)) {
          if (n.endsWith(".tmp")) {
            // a lock's temp name left by a killed process (name.<pid>.<random>.tmp)
            const pid = Number(n.split(".").at(-3))
            if (!(Number.isInteger(pid) && alive(pid)) && !options.dryRun) await fs.rm(path.join(locks, n), { force: true })
            continue
          }
          if (!n.endsWith(".lock") || n === "gc.lock") continue
          const read = await readOwner(path.join(locks, n))
          if (read !== "absent" && staleReason(read) !== undefined && !options.dryRun) await fs.rm(path.join(locks, n), { force: true })
        }
        const corrupt = await list(path.join(root, "corrupt"))
        for (const n of corrupt) await drop(path.join(root, "corrupt", n))
        let removedScratch = 0
        const remaining = new Set(keys.filter((k) => !removedEntries.includes(k)))
        for (const n of await list(path.join(root, "scratch"))) {
          if (!remaining.has(n)) continue
          removedScratch++
          await drop(path.join(root, "scratch", n))
        }
        return {
          removedEntries,
          keptEntries: keys.length - removedEntries.length,
          removedTemp,
          removedCorrupt: corrupt.filter((n) => !n.endsWith(".reason.txt")).length,
          removedScratch,
          freedBytes: freed,
        }
      },
      catch: ioError("collect garbage in", root),
    })
  })
  return ensureStore(root, { create: false }).pipe(Effect.andThen(withLock(path.join(locks, "gc.lock"), "cache gc", work)))
}
