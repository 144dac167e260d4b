/**
 * Inter-process locks on the store. A lock is a file holding its owner's
 * pid, host, purpose and heartbeat period; it is written in full under a
 * private temp name and then hard-linked to its final name (atomic, fails if
 * the name exists), so a lock is never visible without its owner.
 *
 * A lock is stale, and taken over, when its content is unreadable (a lock
 * left half-written by an older version, or damaged), when its owner process
 * on this host is gone, or, for an owner on another host, when its heartbeat
 * (the file's mtime, refreshed while held) is older than ten periods.
 * Waiting polls, announces who holds the lock, and is interruptible; taking
 * the lock is one uninterruptible step, so an interrupt never leaves a lock
 * behind in a live process.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { Duration, Effect, Fiber } from "effect"
import { ioError, type StoreIOError } from "./errors.ts"

export interface Owner {
  readonly pid: number
  readonly host: string
  readonly since: string
  readonly purpose: string
  readonly heartbeatMs: number
}

/** How often a held lock's mtime is refreshed. */
export const HEARTBEAT_MS = 10_000

export const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** What a lock file says: its owner, `"unreadable"`, or `"absent"`. */
export const readOwner = async (file: string): Promise<{ owner: Owner; mtimeMs: number } | "unreadable" | "absent"> => {
  let raw: string
  let mtimeMs: number
  try {
    mtimeMs = (await fs.lstat(file)).mtimeMs
    raw = await fs.readFile(file, "utf8")
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ENOENT" ? "absent" : "unreadable"
  }
  try {
    const o = JSON.parse(raw) as Partial<Owner>
    if (typeof o.pid !== "number" || !Number.isInteger(o.pid) || o.pid <= 0 || typeof o.host !== "string") return "unreadable"
    return {
      owner: {
        pid: o.pid,
        host: o.host,
        since: typeof o.since === "string" ? o.since : "",
        purpose: typeof o.purpose === "string" ? o.purpose : "?",
        heartbeatMs: typeof o.heartbeatMs === "number" && o.heartbeatMs > 0 ? o.heartbeatMs : HEARTBEAT_MS,
      },
      mtimeMs,
    }
  } catch {
    return "unreadable"
  }
}

/** Why a lock is stale, or undefined when its owner may still hold it. */
export const staleReason = (read: { owner: Owner; mtimeMs: number } | "unreadable", now = Date.now()): string | undefined => {
  if (read === "unreadable") return "its content is unreadable"
  const { owner, mtimeMs } = read
  if (owner.host === os.hostname()) return alive(owner.pid) ? undefined : `its owner pid ${owner.pid} is gone`
  return now - mtimeMs > 10 * owner.heartbeatMs ? `its owner on ${owner.host} stopped its heartbeat` : undefined
}

/** Write `content` to `file` only if `file` does not exist, never showing a partial file. */
export const createComplete = async (file: string, content: string): Promise<boolean> => {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`
  await fs.writeFile(tmp, content, { flag: "wx" })
  try {
    await fs.link(tmp, file)
    return true
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false
    throw e
  } finally {
    await fs.rm(tmp, { force: true })
  }
}

/** Remove a stale lock: moved aside atomically first, so only one contender removes it. */
const removeStale = async (file: string): Promise<void> => {
  const aside = `${file}.stale-${process.pid}-${Date.now()}`
  try {
    await fs.rename(file, aside)
    await fs.rm(aside, { force: true })
  } catch {
    // another contender took it over first
  }
}

export type Holder = { readonly pid: number; readonly purpose: string; readonly host?: string } | undefined

type Attempt = { acquired: true } | { acquired: false; holder: Holder }

/** Try once: `acquired` when the lock is now ours. Removes stale locks. */
const tryAcquire = (file: string, purpose: string): Effect.Effect<Attempt, StoreIOError> =>
  Effect.tryPromise({
    try: async (): Promise<Attempt> => {
      await fs.mkdir(path.dirname(file), { recursive: true })
      const owner: Owner = { pid: process.pid, host: os.hostname(), since: new Date().toISOString(), purpose, heartbeatMs: HEARTBEAT_MS }
      if (await createComplete(file, JSON.stringify(owner))) return { acquired: true }
      const current = await readOwner(file)
      if (current === "absent") return { acquired: false, holder: undefined }
      const stale = staleReason(current)
      if (stale !== undefined) {
        await removeStale(file)
        return { acquired: false, holder: undefined }
      }
      return { acquired: false, holder: current === "unreadable" ? undefined : { pid: current.owner.pid, purpose: current.owner.purpose, host: current.owner.host } }
    },
    catch: ioError("lock", file),
  })

/**
 * Run `effect` holding the lock file `file`, waiting while another live
 * holder has it. `onWait` is called once when waiting starts, with the
 * holder. The wait is interruptible; the effect runs interruptibly; the lock
 * is released however it ends.
 */
export const withLock = <A, E, R>(
  file: string,
  purpose: string,
  effect: Effect.Effect<A, E, R>,
  onWait: (owner: Holder) => Effect.Effect<void> = () => Effect.void,
): Effect.Effect<A, E | StoreIOError, R> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.gen(function* () {
      let announced = false
      while (true) {
        // Each attempt is atomic with respect to interruption: the lock is ours or not, never both.
        const r = yield* tryAcquire(file, purpose)
        if (r.acquired) break
        if (!announced && r.holder !== undefined) {
          announced = true
          yield* onWait(r.holder)
        }
        yield* restore(Effect.sleep(Duration.millis(100)))
      }
      const heartbeat = yield* Effect.forkDetach(
        Effect.forever(
          Effect.sleep(Duration.millis(HEARTBEAT_MS)).pipe(
            Effect.andThen(Effect.promise(() => fs.utimes(file, new Date(), new Date()).catch(() => undefined))),
          ),
        ),
      )
      const exit = yield* Effect.exit(restore(effect))
      yield* Fiber.interrupt(heartbeat)
      yield* Effect.promise(() => fs.rm(file, { force: true }))
      return yield* exit
    }),
  )

/** Live runs registered in `locksDir` (markers of dead processes are removed). */
export const liveRuns = (locksDir: string): Effect.Effect<ReadonlyArray<{ pid: number; purpose: string }>> =>
  Effect.promise(async () => {
    let names: Array<string> = []
    try {
      names = (await fs.readdir(locksDir)).filter((n) => n.startsWith("run-") && n.endsWith(".lock"))
    } catch {
      return []
    }
    const out: Array<{ pid: number; purpose: string }> = []
    for (const n of names) {
      const read = await readOwner(path.join(locksDir, n))
      if (read === "absent") continue
      if (staleReason(read) !== undefined) await fs.rm(path.join(locksDir, n), { force: true })
      else if (read !== "unreadable") out.push({ pid: read.owner.pid, purpose: read.owner.purpose })
    }
    return out
  })

/**
 * Register a run for its duration (so `cache gc` leaves the store alone), after
 * waiting for any garbage collection in progress to finish.
 */
export const withRunMarker = <A, E, R>(
  locksDir: string,
  purpose: string,
  effect: Effect.Effect<A, E, R>,
  onWait?: (owner: Holder) => Effect.Effect<void>,
): Effect.Effect<A, E | StoreIOError, R> => {
  const marker = path.join(locksDir, `run-${process.pid}-${Math.random().toString(36).slice(2, 10)}.lock`)
  const gcLock = path.join(locksDir, "gc.lock")
  const owner: Owner = { pid: process.pid, host: os.hostname(), since: new Date().toISOString(), purpose, heartbeatMs: HEARTBEAT_MS }
  const register = Effect.tryPromise({
    try: async () => {
      await fs.mkdir(locksDir, { recursive: true })
      await createComplete(marker, JSON.stringify(owner))
    },
    catch: ioError("register run in", locksDir),
  })
  // Hold the gc lock just long enough to register: gc cannot start between our check and our marker.
  return Effect.uninterruptibleMask((restore) =>
    Effect.gen(function* () {
      yield* restore(withLock(gcLock, `run ${purpose}`, Effect.uninterruptible(register), onWait))
      const exit = yield* Effect.exit(restore(effect))
      yield* Effect.promise(() => fs.rm(marker, { force: true }))
      return yield* exit
    }),
  )
}
