import { spawnSync } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { Duration, Effect, Fiber } from "effect"
import { describe, expect, it } from "vitest"
import { collectGarbage } from "../../runtime/cache/gc.ts"
import { sha256 } from "../../runtime/cache/hash.ts"
import { withLock, withRunMarker } from "../../runtime/cache/lock.ts"
import type { Manifest } from "../../runtime/cache/manifest.ts"
import { makeFileStore } from "../../runtime/cache/Store.ts"
import { writeRunRecord } from "../../runtime/cache/runRecord.ts"
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
const keyOf = (s: string) => sha256(s)
const run = <A, E>(e: Effect.Effect<A, E>) => Effect.runPromise(e)

describe("artifact store", () => {
  it("commits atomically and reads back verified payloads", async () => {
    const store = makeFileStore(await tempDir("store"))
    const key = keyOf("a")
    await run(store.commit(manifestFor(key), [{ name: "x/y.bin", bytes: enc.encode("hello") }], { replace: false }))
    const hit = await run(store.lookup(key, "full"))
    expect(hit._tag).toBe("Hit")
    if (hit._tag !== "Hit") return
    const files = await run(store.readPayload(hit.manifest))
    expect(new TextDecoder().decode(files.get("x/y.bin"))).toBe("hello")
    expect(await fs.readdir(path.join(store.root, "tmp"))).toEqual([])
  })

  it("refuses unsafe payload names and leaves no temp folder", async () => {
    const store = makeFileStore(await tempDir("store"))
    const err = await run(Effect.flip(store.commit(manifestFor(keyOf("b")), [{ name: "../escape", bytes: enc.encode("x") }], { replace: false })))
    expect(err.message).toContain('artifact file name "../escape" is not a safe relative path')
    expect(await fs.readdir(path.join(store.root, "tmp"))).toEqual([])
  })

  it("an existing valid entry wins over a concurrent commit; --force replaces it", async () => {
    const store = makeFileStore(await tempDir("store"))
    const key = keyOf("c")
    await run(store.commit(manifestFor(key), [{ name: "v", bytes: enc.encode("first") }], { replace: false }))
    const kept = await run(store.commit(manifestFor(key), [{ name: "v", bytes: enc.encode("second") }], { replace: false }))
    expect(kept.files[0]!.sha256).toBe(sha256("first"))
    const replaced = await run(store.commit(manifestFor(key), [{ name: "v", bytes: enc.encode("third") }], { replace: true }))
    expect(replaced.files[0]!.sha256).toBe(sha256("third"))
    const hit = await run(store.lookup(key, "full"))
    expect(hit._tag === "Hit" && hit.manifest.files[0]!.sha256).toBe(sha256("third"))
  })

  it("detects a bad manifest, a missing file and a checksum mismatch", async () => {
    const store = makeFileStore(await tempDir("store"))
    const key = keyOf("d")
    await run(store.commit(manifestFor(key), [{ name: "v", bytes: enc.encode("12345") }], { replace: false }))
    const file = path.join(store.entryDir(key), "payload", "v")
    await fs.writeFile(file, "12346")
    expect(await run(store.lookup(key, "size"))).toMatchObject({ _tag: "Hit" })
    expect(await run(store.lookup(key, "full"))).toEqual({ _tag: "Corrupt", reason: "payload file v fails its sha256 checksum" })
    await fs.rm(file)
    expect(await run(store.lookup(key, "size"))).toEqual({ _tag: "Corrupt", reason: "payload file v is missing" })
    await fs.writeFile(path.join(store.entryDir(key), "manifest.json"), "{")
    expect(await run(store.lookup(key, "size"))).toEqual({ _tag: "Corrupt", reason: "manifest.json is not valid JSON" })
    const moved = await run(store.quarantine(key, "test"))
    expect(moved).toContain(`${path.sep}corrupt${path.sep}`)
    expect(await run(store.lookup(key, "size"))).toEqual({ _tag: "Miss" })
  })
})

describe("locks", () => {
  it("a second holder waits until the first releases", async () => {
    const file = path.join(await tempDir("lock"), "k.lock")
    const order: Array<string> = []
    const first = withLock(file, "one", Effect.sleep(Duration.millis(300)).pipe(Effect.tap(() => Effect.sync(() => order.push("one")))))
    const second = withLock(file, "two", Effect.sync(() => order.push("two")))
    await run(Effect.gen(function* () {
      const f = yield* Effect.forkChild(first)
      yield* Effect.sleep(Duration.millis(50))
      yield* second
      yield* Fiber.join(f)
    }))
    expect(order).toEqual(["one", "two"])
  })

  it("a lock left by a dead process is taken over", async () => {
    const file = path.join(await tempDir("lock"), "k.lock")
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" })
    await fs.writeFile(file, JSON.stringify({ pid: Number(dead.stdout), host: os.hostname(), since: "", purpose: "killed run" }))
    expect(await run(withLock(file, "me", Effect.succeed("taken")))).toBe("taken")
  })
})

describe("cache gc", () => {
  it("keeps what the latest run used, removes the rest, and refuses while a run is registered", async () => {
    const store = makeFileStore(await tempDir("gc"))
    const [used, old] = [keyOf("used"), keyOf("old")]
    for (const k of [used, old]) await run(store.commit(manifestFor(k), [{ name: "v", bytes: enc.encode(k) }], { replace: false }))
    await fs.mkdir(path.join(store.root, "tmp", `${old}.999999999.1.x`), { recursive: true })
    await run(
      writeRunRecord(store.root, {
        runId: "r1", pipeline: "p", preset: null, startedAt: "", finishedAt: "", durationMs: 0, ok: true, interrupted: false, argv: [],
        stages: [{ name: "n", stage: "t/s", key: used, status: "ran", durationMs: 0, reason: undefined, error: undefined }],
      }),
    )
    const busy = await run(Effect.flip(withRunMarker(path.join(store.root, "locks"), "other run", collectGarbage(store, { keepRuns: 1, dryRun: false }))))
    expect(busy.message).toContain("is in use by pid")
    const report = await run(collectGarbage(store, { keepRuns: 1, dryRun: false }))
    expect(report.removedEntries).toEqual([old])
    expect(report.keptEntries).toBe(1)
    expect(report.removedTemp).toBe(1)
    expect(await run(store.keys())).toEqual([used])
  })
})
