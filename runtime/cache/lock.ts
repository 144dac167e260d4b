/**
 * Inter-process locks on the store: a lock is a file created with O_EXCL
 * holding its owner's pid and host. A lock whose owner process is gone (a
 * killed run) is stale and is taken over. Waiting polls, so an interrupted
 * waiter simply stops waiting.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { Duration, Effect } from "effect"
import { ioError, type StoreIOError } from "./errors.ts"

interface Owner {
  readonly pid: number
  readonly host: string
  readonly since: string
  readonly purpose: string
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

const readOwner = async (file: string): Promise<Owner | undefined> => {
  try {
    return JSON.parse(await fs.readFile(file, "utf8")) as Owner
  } catch {
    return undefined
  }
}

/** Try once: true when the lock is now ours. Removes stale locks of dead owners. */
const tryAcquire = (file: string, purpose: string): Effect.Effect<{ acquired: true } | { acquired: false; owner: Owner | undefined }, StoreIOError> =>
  Effect.tryPromise({
    try: async () => {
      await fs.mkdir(path.dirname(file), { recursive: true })
      const owner: Owner = { pid: process.pid, host: os.hostname(), since: new Date().toISOString(), purpose }
      try {
        await fs.writeFile(file, JSON.stringify(owner), { flag: "wx" })
        return { acquired: true as const }
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e
      }
      const current = await readOwner(file)
      if (current !== undefined && current.host === os.hostname() && !alive(current.pid)) {
        // Stale: move it aside atomically so only one contender removes it.
        const aside = `${file}.stale-${process.pid}-${Date.now()}`
        try {
          await fs.rename(file, aside)
          await fs.rm(aside, { force: true })
        } catch {
          // another contender took it over first
        }
        return { acquired: false as const, owner: undefined }
      }
      return { acquired: false as const, owner: current }
    },
    catch: ioError("lock", file),
  })

/**
 * Run `effect` holding the lock file `file`, waiting while another live
 * process holds it. `onWait` is called once when waiting starts.
 */
export const withLock = <A, E, R>(
  file: string,
  purpose: string,
  effect: Effect.Effect<A, E, R>,
  onWait: (owner: { pid: number; purpose: string } | undefined) => Effect.Effect<void> = () => Effect.void,
): Effect.Effect<A, E | StoreIOError, R> => {
  const acquire = Effect.gen(function* () {
    let announced = false
    while (true) {
      const r = yield* tryAcquire(file, purpose)
      if (r.acquired) return
      if (!announced && r.owner !== undefined) {
        announced = true
        yield* onWait({ pid: r.owner.pid, purpose: r.owner.purpose })
      }
      yield* Effect.sleep(Duration.millis(100))
    }
  })
  const release = Effect.promise(() => fs.rm(file, { force: true }))
  return Effect.acquireUseRelease(acquire, () => effect, () => release)
}

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
      const owner = await readOwner(path.join(locksDir, n))
      if (owner === undefined) continue
      if (owner.host === os.hostname() && !alive(owner.pid)) await fs.rm(path.join(locksDir, n), { force: true })
      else out.push({ pid: owner.pid, purpose: owner.purpose })
    }
    return out
  })

/**
 * Register a run for its duration (so `cache gc` leaves the store alone), after
 * waiting for any garbage collection in progress to finish.
 */
export const withRunMarker = <A, E, R>(locksDir: string, purpose: string, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | StoreIOError, R> => {
  const marker = path.join(locksDir, `run-${process.pid}-${Math.random().toString(36).slice(2, 10)}.lock`)
  const gcLock = path.join(locksDir, "gc.lock")
  const register = Effect.tryPromise({
    try: async () => {
      await fs.mkdir(locksDir, { recursive: true })
      await fs.writeFile(marker, JSON.stringify({ pid: process.pid, host: os.hostname(), since: new Date().toISOString(), purpose }))
    },
    catch: ioError("register run in", locksDir),
  })
  // Hold the gc lock just long enough to register: gc cannot start between our check and our marker.
  const acquire = withLock(gcLock, `run ${purpose}`, register)
  return Effect.acquireUseRelease(acquire, () => effect, () => Effect.promise(() => fs.rm(marker, { force: true })))
}
