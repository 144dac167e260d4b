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
