/**
 * The local store as a read-through cache of a remote store
 * (runtime/cache/remoteStore.ts): two "machines" (two local stores) share
 * one file:// remote. Every execution of a test stage is counted, so
 * "served from the remote, not recomputed" is checked, not assumed.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { Effect, Layer, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { Artifact, Config, Pipeline, Stage, StageContext } from "../../dsl/index.ts"
import { collectGarbage } from "../../runtime/cache/gc.ts"
import { openRemoteStore, readThrough, remoteStoreFolder, type RemoteStoreShape } from "../../runtime/cache/remoteStore.ts"
import { makeFileStore } from "../../runtime/cache/Store.ts"
import { main } from "../../runtime/cli/main.ts"
import { publishOutputs } from "../../runtime/cli/outputs.ts"
import { Executor, layerLocal } from "../../runtime/executor/Executor.ts"
import { layerSilent } from "../../runtime/progress/Progress.ts"
import { statuses, tempDir } from "./harness.ts"

const Numbers = Artifact.json("Numbers", Schema.Array(Schema.Finite))
const Total = Artifact.json("Total", Schema.Struct({ total: Schema.Finite }))
const executions: Array<string> = []

const gen = Stage.make({
  name: "remote-test/gen",
  config: Schema.Struct({ count: Config.withDefault(Schema.Int, 3) }),
  inputs: {},
  output: Numbers,
  run: ({ config }) =>
    Effect.sync(() => {
      executions.push("gen")
      return Array.from({ length: config.count }, (_, i) => i + 1)
    }),
})

const total = Stage.make({
  name: "remote-test/total",
  config: Schema.Struct({ scale: Config.withDefault(Schema.Finite, 1) }),
  inputs: { numbers: Numbers },
  output: Total,
  run: ({ config, inputs }) =>
    Effect.gen(function* () {
      executions.push(`total x${config.scale}`)
      const ctx = yield* StageContext
      const t = inputs.numbers.reduce((a, b) => a + b, 0) * config.scale
      if (ctx.metric !== undefined) yield* ctx.metric({ total: t })
      return { total: t }
    }),
})

const slow = Stage.make({
  name: "remote-test/slow",
  config: Schema.Struct({}),
  inputs: { numbers: Numbers },
  output: Total,
  run: ({ inputs }) =>
    Effect.gen(function* () {
      executions.push("slow")
      yield* Effect.sleep("400 millis")
      return { total: inputs.numbers.reduce((a, b) => a + b, 0) }
    }),
})

const pipeline = (scale = 2) =>
  Pipeline.make("remote-test")
    .stage("gen", gen, { config: { count: 4 } })
    .stage("total", total, { inputs: { numbers: "gen" }, config: { scale } })
    .build()

const open = (folder: string) => Effect.runPromise(openRemoteStore(pathToFileURL(folder).href, "/"))
const layer = (cacheDir: string, remote: RemoteStoreShape) => layerLocal({ cacheDir, workers: 1, remoteStore: remote }).pipe(Layer.provide(layerSilent))
/** A run; `verify` names nodes whose cached entries the run checks in full (as `ssl-kd run` does for summaries), else a cached terminal node is only sized. */
const run = (cacheDir: string, remote: RemoteStoreShape, p = pipeline(), verify: Array<string> = []) =>
  Effect.runPromise(Executor.use((e) => e.run(p, { verifyNodes: verify })).pipe(Effect.provide(layer(cacheDir, remote))))
const plan = (cacheDir: string, remote: RemoteStoreShape, p = pipeline()) => Effect.runPromise(Executor.use((e) => e.plan(p)).pipe(Effect.provide(layer(cacheDir, remote))))
const keysOf = (root: string) => Effect.runPromise(makeFileStore(root).keys())
const payloadFile = (root: string, key: string) => path.join(root, "entries", key.slice(0, 2), key, "payload", "value.json")
const verifyAll = (root: string) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const store = makeFileStore(root)
      const out: Record<string, string> = {}
      for (const k of yield* store.keys()) out[k] = (yield* store.lookup(k, "full"))._tag
      return out
    }),
  )

describe("remote store (file://) behind the local store", () => {
  it("a second machine with an empty local store: plan downloads nothing, the run computes nothing and copies the entries and their metrics", async () => {
    const base = await tempDir("remote")
    const [a, b, r] = ["a", "b", "remote"].map((n) => path.join(base, n)) as [string, string, string]
    const remote = await open(r)
    executions.length = 0
    const first = await run(a, remote)
    expect(statuses(first)).toEqual({ gen: "ran", total: "ran" })
    expect(executions).toEqual(["gen", "total x2"])
    // both stores hold both entries, every checksum good; the run record went to the remote too
    const keys = first.stages.map((s) => s.key).sort()
    expect(await keysOf(a)).toEqual(keys)
    expect(await keysOf(r)).toEqual(keys)
    expect(Object.values(await verifyAll(r))).toEqual(["Hit", "Hit"])
    expect((await fs.readdir(path.join(r, "runs"))).filter((n) => n.endsWith(".json"))).toHaveLength(1)

    // machine b: plan sees both cached (from the remote) and copies nothing
    const planned = await plan(b, remote)
    expect(planned.nodes.map((n) => n.status)).toEqual(["cached", "cached"])
    expect(await keysOf(b).catch(() => [])).toEqual([])

    executions.length = 0
    const second = await run(b, remote)
    expect(statuses(second)).toEqual({ gen: "cached", total: "cached" })
    expect(executions).toEqual([])
    // b's run reports the metric a's run recorded (read from the remote's sidecar)
    expect(second.metrics?.["total"]).toEqual({ total: 20 })
    // publishing the outputs copies the terminal entry (checksums verified) and its metrics
    const out = path.join(base, "out")
    await Effect.runPromise(publishOutputs({ storeRoot: b, remoteStore: remote, dir: out, pipeline: pipeline(), report: second }))
    expect(JSON.parse(await fs.readFile(path.join(out, "total", "value.json"), "utf8"))).toEqual({ total: 20 })
    expect(await fs.readFile(path.join(out, "metrics.csv"), "utf8")).toContain("total,remote-test/total,,,total,20")
    const totalKey = first.stages.find((s) => s.name === "total")!.key
    expect(await verifyAll(b)).toEqual({ [totalKey]: "Hit" })
    // a run that reads gen in this process copies it too
    executions.length = 0
    await run(b, remote, pipeline(), ["gen"])
    expect(executions).toEqual([])
    expect(Object.values(await verifyAll(b))).toEqual(["Hit", "Hit"])
  })

  it("a corrupt local entry is repaired from the remote; a corrupt remote entry is quarantined there and recomputed; an entry the remote lacks is uploaded by the next run", async () => {
    const base = await tempDir("remote")
    const [a, r] = ["a", "remote"].map((n) => path.join(base, n)) as [string, string]
    const remote = await open(r)
    executions.length = 0
    const first = await run(a, remote)
    const key = (name: string) => first.stages.find((s) => s.name === name)!.key

    // local corrupt, remote good: repaired without recomputing
    await fs.writeFile(payloadFile(a, key("total")), '{"total":99}')
    executions.length = 0
    const repaired = await run(a, remote, pipeline(), ["total"])
    expect(statuses(repaired)).toEqual({ gen: "cached", total: "cached" })
    expect(executions).toEqual([])
    expect(JSON.parse(await fs.readFile(payloadFile(a, key("total")), "utf8"))).toEqual({ total: 20 })
    expect(await fs.readdir(path.join(a, "corrupt"))).not.toEqual([])

    // both corrupt: the run quarantines the remote one too, recomputes, and both hold the new entry
    await fs.writeFile(payloadFile(a, key("total")), '{"total":98}')
    await fs.writeFile(payloadFile(r, key("total")), '{"total":97}')
    executions.length = 0
    const recomputed = await run(a, remote, pipeline(), ["total"])
    expect(statuses(recomputed)).toEqual({ gen: "cached", total: "ran" })
    expect(executions).toEqual(["total x2"])
    expect(Object.values(await verifyAll(r))).toEqual(["Hit", "Hit"])
    expect(JSON.parse(await fs.readFile(payloadFile(r, key("total")), "utf8"))).toEqual({ total: 20 })
    expect((await fs.readdir(path.join(r, "corrupt"))).some((n) => n.startsWith(key("total")))).toBe(true)

    // an entry the remote lost (or never got): the next run that uses it uploads it
    await fs.rm(path.join(r, "entries", key("gen").slice(0, 2), key("gen")), { recursive: true })
    executions.length = 0
    await run(a, remote, pipeline(), ["gen"])
    expect(executions).toEqual([])
    expect((await verifyAll(r))[key("gen")]).toBe("Hit")
  })

  it("two machines that miss the same entry at once compute it once (the key's lock on the remote); the other copies it", async () => {
    const base = await tempDir("remote")
    const [a, b, r] = ["a", "b", "remote"].map((n) => path.join(base, n)) as [string, string, string]
    const remote = await open(r)
    const slowPipeline = Pipeline.make("remote-test-slow").stage("gen", gen, { config: { count: 4 } }).stage("slow", slow, { inputs: { numbers: "gen" } }).build()
    executions.length = 0
    const [x, y] = await Promise.all([run(a, remote, slowPipeline, ["slow"]), run(b, await open(r), slowPipeline, ["slow"])])
    expect(executions.filter((e) => e === "slow")).toEqual(["slow"])
    expect(executions.filter((e) => e === "gen")).toEqual(["gen"])
    expect([statuses(x)["slow"], statuses(y)["slow"]].sort()).toEqual(["cached", "ran"])
    expect(Object.values(await verifyAll(a)).concat(Object.values(await verifyAll(b)))).toEqual(["Hit", "Hit", "Hit", "Hit"])
  })

  it("per-epoch scratch lives in the remote; gc on the remote keeps what recorded runs used and young entries", async () => {
    const base = await tempDir("remote")
    const [a, r] = ["a", "remote"].map((n) => path.join(base, n)) as [string, string]
    const remote = await open(r)
    const store = readThrough(makeFileStore(a), remote)
    const k = "ab".repeat(32)
    expect(store.scratchDir(k)).toBe(path.join(r, "scratch", k))
    expect(await Effect.runPromise(store.prepareScratch(k))).toBe(path.join(r, "scratch", k))

    const first = await run(a, remote, pipeline(2))
    const other = await run(a, remote, pipeline(3)) // a newer run of the same pipeline: keeps gen, total x3
    const x2 = first.stages.find((s) => s.name === "total")!.key
    const x3 = other.stages.find((s) => s.name === "total")!.key
    const folder = remote.folder!
    // young entries are kept
    const young = await Effect.runPromise(collectGarbage(folder, { keepRuns: 1, dryRun: true, keepYoungerMs: 3600_000 }))
    expect(young.removedEntries).toEqual([])
    const gc = await Effect.runPromise(collectGarbage(folder, { keepRuns: 1, dryRun: false, keepYoungerMs: 0 }))
    expect(gc.removedEntries).toEqual([x2])
    expect([...(await keysOf(r))].sort()).toEqual([other.stages[0]!.key, x3].sort())
    // the local cache is untouched by a gc of the remote
    expect(await keysOf(a)).toContain(x2)
  })

  it("ssl-kd cache ls / verify / gc --remote-store work on the remote; a bad one is a typed error (exit 2), a missing one is not created", async () => {
    const base = await tempDir("remote")
    const [a, r] = ["a", "remote"].map((n) => path.join(base, n)) as [string, string]
    const first = await run(a, await open(r))
    const totalKey = first.stages.find((s) => s.name === "total")!.key
    await fs.writeFile(payloadFile(r, totalKey), '{"total":21}')
    const cli = async (...argv: Array<string>) => {
      const out: Array<string> = []
      const err: Array<string> = []
      const code = await main(argv, { out: (t) => void out.push(t), err: (t) => void err.push(t), cwd: base, isTTY: false })
      return { code, out: out.join("\n"), err: err.join("\n") }
    }
    const verify = await cli("cache", "verify", "--remote-store", pathToFileURL(r).href, "--json")
    expect(verify.code, verify.err).toBe(1)
    const listed = JSON.parse(verify.out) as { store: string; corrupt: number; entries: Array<{ key: string; status: string }> }
    expect(listed.store).toBe(r)
    expect(listed.entries.find((e) => e.key === totalKey)?.status).toBe("corrupt")
    expect(listed.corrupt).toBe(1)
    // the local store is fine and is not what was verified
    expect((await cli("cache", "verify", "--cache-dir", "a")).code).toBe(0)
    const bad = await cli("cache", "ls", "--remote-store", "s3://bucket/x")
    expect(bad.code).toBe(2)
    expect(bad.err).toMatch(/--remote-store "s3:\/\/bucket\/x": the s3:\/\/ scheme has no backend/)
    expect(bad.err).not.toMatch(/\n\s+at /)
    const missing = await cli("cache", "ls", "--remote-store", "nowhere")
    expect(missing.code, missing.err).toBe(0)
    await expect(fs.stat(path.join(base, "nowhere"))).rejects.toThrow()
    const gc = await cli("cache", "gc", "--remote-store", r, "--keep-runs", "0", "--dry-run", "--json")
    expect(gc.code, gc.err).toBe(0)
    expect((JSON.parse(gc.out) as { removedEntries: Array<string> }).removedEntries).toEqual([]) // both younger than 24 h
  })

  it("names a remote it cannot open and what was expected", async () => {
    const fail = (value: string) => Effect.runPromise(Effect.flip(remoteStoreFolder(value, "/work")))
    expect((await fail("s3://bucket/ssl-kd")).message).toMatch(/--remote-store "s3:\/\/bucket\/ssl-kd": the s3:\/\/ scheme has no backend in this build \(built in: file:\/\//)
    expect((await fail("file://host/share")).message).toMatch(/--remote-store "file:\/\/host\/share": not a file URL with an absolute path/)
    expect((await fail("")).message).toMatch(/expected file:\/\/\/path/)
    expect(await Effect.runPromise(remoteStoreFolder("shared/store", "/work"))).toBe("/work/shared/store")
    expect(await Effect.runPromise(remoteStoreFolder("file:///mnt/ssl-kd", "/work"))).toBe("/mnt/ssl-kd")
    // a folder that holds other files is not taken for a store
    const base = await tempDir("remote")
    await fs.writeFile(path.join(base, "notes.txt"), "mine")
    const refused = await Effect.runPromise(Effect.flip(openRemoteStore(base, "/")))
    expect(refused._tag).toBe("NotAStoreError")
  })
})
