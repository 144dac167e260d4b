/**
 * Regression tests of issue 17 (crash, interrupt and hostile-input
 * hardening of the store): one test per finding, named after it.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { Duration, Effect, Exit, Fiber } from "effect"
import { describe, expect, it } from "vitest"
import { collectGarbage } from "../../runtime/cache/gc.ts"
import { sha256 } from "../../runtime/cache/hash.ts"
import { withLock } from "../../runtime/cache/lock.ts"
import type { Manifest } from "../../runtime/cache/manifest.ts"
import { ensureStore, makeFileStore } from "../../runtime/cache/Store.ts"
import { writeRunRecord, type RunReport } from "../../runtime/cache/runRecord.ts"
import { tempDir } from "./harness.ts"

const enc = new TextEncoder()
const manifestFor = (key: string): Omit<Manifest, "files"> => ({
  formatVersion: 1,
  key,
  stage: "t/s",
  node: "n",
  pipeline: "p",
  output: "X",
  config: {},
  inputs: {},
  codeFingerprint: "f",
  datasetIdentity: null,
  reads: [],
  timings: { startedAt: "", finishedAt: "", durationMs: 0 },
  backend: "none",
  versions: {},
})
const run = <A, E>(e: Effect.Effect<A, E>) => Effect.runPromise(e)
/** Resolves to "timeout" when `p` takes longer than `ms`. */
const within = <A>(p: Promise<A>, ms: number): Promise<A | "timeout"> =>
  Promise.race([p, new Promise<"timeout">((r) => setTimeout(() => r("timeout"), ms))])

const record = (runId: string, keys: ReadonlyArray<string>, extra: Partial<RunReport> = {}): RunReport => ({
  runId,
  pipeline: "p",
  preset: null,
  startedAt: "",
  finishedAt: "",
  durationMs: 0,
  ok: true,
  interrupted: false,
  argv: [],
  stages: keys.map((key) => ({ name: key.slice(0, 4), stage: "t/s", key, status: "ran" as const, durationMs: 0, reason: undefined, error: undefined })),
  ...extra,
})

describe("issue 17: locks", () => {
  it("finding 1: an empty lock file (killed between create and write) is stale, not a hang, and the wait is announced", async () => {
    const file = path.join(await tempDir("lock-empty"), "k.lock")
    await fs.writeFile(file, "")
    const waits: Array<string> = []
    const r = await within(run(withLock(file, "me", Effect.succeed("taken"), (o) => Effect.sync(() => waits.push(o?.purpose ?? "unknown")))), 5000)
    expect(r).toBe("taken")
    expect(await fs.readdir(path.dirname(file))).toEqual([])
  })

  it("finding 1: cache gc is not stopped by an empty gc.lock", async () => {
    const store = makeFileStore(await tempDir("gc-empty"))
    await run(store.commit(manifestFor(sha256("a")), [{ name: "v", bytes: enc.encode("a") }], { replace: false }))
    await fs.mkdir(path.join(store.root, "locks"), { recursive: true })
    await fs.writeFile(path.join(store.root, "locks", "gc.lock"), "")
    const r = await within(run(collectGarbage(store, { keepRuns: 1, dryRun: true })), 5000)
    expect(r).not.toBe("timeout")
  })

  it("a lock file is never visible without its owner (written under a temp name, then linked)", async () => {
    const dir = await tempDir("lock-atomic")
    const file = path.join(dir, "k.lock")
    const seen: Array<string> = []
    let stop = false
    const watcher = (async () => {
      while (!stop) {
        try {
          seen.push(await fs.readFile(file, "utf8"))
        } catch {
          // absent
        }
        await new Promise((r) => setImmediate(r))
      }
    })()
    for (let i = 0; i < 30; i++) await run(withLock(file, `n${i}`, Effect.void))
    stop = true
    await watcher
    for (const s of seen) expect(JSON.parse(s)).toMatchObject({ pid: process.pid })
  })

  it("finding 5: a wait for another holder's lock is interruptible and says who holds it", async () => {
    const file = path.join(await tempDir("lock-int"), "k.lock")
    const waits: Array<string> = []
    const outcome = await within(
      run(
        Effect.gen(function* () {
          const holder = yield* Effect.forkChild(withLock(file, "holder", Effect.never))
          yield* Effect.sleep(Duration.millis(100))
          const waiter = yield* Effect.forkChild(withLock(file, "waiter", Effect.void, (o) => Effect.sync(() => waits.push(`${o?.pid}:${o?.purpose}`))))
          yield* Effect.sleep(Duration.millis(400))
          yield* Fiber.interrupt(waiter)
          yield* Fiber.interrupt(holder)
          return "interrupted"
        }),
      ),
      5000,
    )
    expect(outcome).toBe("interrupted")
    expect(waits).toEqual([`${process.pid}:holder`])
    await expect(fs.access(file)).rejects.toThrow()
  })
})

describe("issue 17: commits", () => {
  it("finding 4: a commit interrupted at any moment finishes or vanishes (no ENOTEMPTY, no corrupt entry, no temp folder)", async () => {
    const store = makeFileStore(await tempDir("commit-int"))
    const files = Array.from({ length: 40 }, (_, i) => ({ name: `f${i}.bin`, bytes: new Uint8Array(64 * 1024).fill(i) }))
    for (let i = 0; i < 12; i++) {
      const key = sha256(`k${i}`)
      const exit = await run(
        Effect.gen(function* () {
          const f = yield* Effect.forkChild(store.commit(manifestFor(key), files, { replace: false }))
          yield* Effect.sleep(Duration.millis(i))
          yield* Fiber.interrupt(f)
          return yield* Effect.exit(Fiber.join(f))
        }),
      )
      if (Exit.isFailure(exit)) expect(exit.cause.toString()).not.toContain("ENOTEMPTY")
      await new Promise((r) => setTimeout(r, 30))
      const look = await run(store.lookup(key, "full"))
      expect(look._tag).not.toBe("Corrupt")
      expect(await fs.readdir(path.join(store.root, "tmp")).catch(() => [])).toEqual([])
    }
  })
})

describe("issue 17: gc", () => {
  it("finding 3: an interrupted run's record does not take the place of the last complete run", async () => {
    const store = makeFileStore(await tempDir("gc-int"))
    const keys = [sha256("x"), sha256("y")]
    for (const k of keys) await run(store.commit(manifestFor(k), [{ name: "v", bytes: enc.encode(k) }], { replace: false }))
    await run(writeRunRecord(store.root, record("2026-01-01-a", keys)))
    await run(writeRunRecord(store.root, record("2026-01-02-b", [], { ok: false, interrupted: true })))
    const report = await run(collectGarbage(store, { keepRuns: 1, dryRun: true }))
    expect(report.removedEntries).toEqual([])
    expect(report.keptEntries).toBe(2)
  })

  it("finding 13: a run record of {} is skipped, not a crash", async () => {
    const store = makeFileStore(await tempDir("gc-rec"))
    const k = sha256("z")
    await run(store.commit(manifestFor(k), [{ name: "v", bytes: enc.encode("z") }], { replace: false }))
    await run(writeRunRecord(store.root, record("2026-01-01-a", [k])))
    await fs.writeFile(path.join(store.root, "runs", "2026-01-03-x.json"), "{}")
    const report = await run(collectGarbage(store, { keepRuns: 1, dryRun: false }))
    expect(report.keptEntries).toBe(1)
  })

  it("finding 7: gc, verify and run refuse a folder that is neither empty nor a store", async () => {
    const dir = await tempDir("not-a-store")
    await fs.mkdir(path.join(dir, "tmp"))
    await fs.writeFile(path.join(dir, "tmp", "notes.txt"), "mine")
    await fs.mkdir(path.join(dir, "corrupt"))
    await fs.writeFile(path.join(dir, "corrupt", "photo.jpg"), "mine")
    const err = await run(Effect.flip(ensureStore(dir, { create: true })))
    expect(err._tag).toBe("NotAStoreError")
    expect(err.message).toContain(dir)
    const gc = await run(Effect.flip(collectGarbage(makeFileStore(dir), { keepRuns: 1, dryRun: false })))
    expect(gc._tag).toBe("NotAStoreError")
    expect(await fs.readFile(path.join(dir, "tmp", "notes.txt"), "utf8")).toBe("mine")
    expect(await fs.readFile(path.join(dir, "corrupt", "photo.jpg"), "utf8")).toBe("mine")
    // an empty folder becomes a store (marker written); a store is accepted again
    const empty = await tempDir("empty-store")
    await run(ensureStore(empty, { create: true }))
    await run(ensureStore(empty, { create: false }))
    expect(await fs.readdir(empty)).toContain(".ssl-kd-store")
  })
})

describe("issue 17: no symlinks followed inside the store", () => {
  it("finding 11: a payload symlinked to /dev/zero is corrupt, read without following it", async () => {
    const store = makeFileStore(await tempDir("sym-payload"))
    const key = sha256("p")
    const m = await run(store.commit(manifestFor(key), [{ name: "v", bytes: enc.encode("12345") }], { replace: false }))
    const file = path.join(store.entryDir(key), "payload", "v")
    await fs.rm(file)
    await fs.symlink("/dev/zero", file)
    const look = await within(run(store.lookup(key, "full")), 5000)
    expect(look).toMatchObject({ _tag: "Corrupt", reason: expect.stringMatching(/symbolic link|not a regular file/) })
    const read = await within(run(Effect.flip(store.readPayload(m))), 5000)
    expect(read).toMatchObject({ _tag: "CorruptEntryError" })
  })

  it("finding 12: a scratch folder symlinked outside the store is not written through", async () => {
    const store = makeFileStore(await tempDir("sym-scratch"))
    const outside = await tempDir("outside")
    const key = sha256("s")
    await fs.mkdir(path.join(store.root, "scratch"), { recursive: true })
    await fs.symlink(outside, store.scratchDir(key))
    const dir = await run(store.prepareScratch(key))
    await fs.writeFile(path.join(dir, "ckpt.bin"), "x")
    expect(await fs.readdir(outside)).toEqual([])
    expect((await fs.lstat(store.scratchDir(key))).isDirectory()).toBe(true)
    expect(await fs.realpath(dir)).toBe(path.join(await fs.realpath(store.root), "scratch", key))
  })
})

describe("issue 17: marker", () => {
  it("a legacy store (entries/, runs/ ... without a marker) is adopted", async () => {
    const dir = await tempDir("legacy")
    const store = makeFileStore(dir)
    await run(store.commit(manifestFor(sha256("l")), [{ name: "v", bytes: enc.encode("l") }], { replace: false }))
    await fs.rm(path.join(dir, ".ssl-kd-store"), { force: true })
    await run(ensureStore(dir, { create: false }))
    expect(await fs.readdir(dir)).toContain(".ssl-kd-store")
    expect(os.platform()).toBeTruthy()
  })
})
