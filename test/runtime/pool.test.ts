/**
 * Fan-out items in worker threads (runtime/executor/pool/). The stages
 * (poolStages.ts) are written to a temp module under test/.tmp/ (as a user's
 * would be), so workers import them from their declaration site.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { threadId as mainThreadId } from "node:worker_threads"
import { Effect, Fiber, Layer } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Pipeline } from "../../dsl/Pipeline.ts"
import { Executor, layerLocal, type RunOptions } from "../../runtime/executor/Executor.ts"
import { liveWorkerCount } from "../../runtime/executor/pool/WorkerPool.ts"
import type { RunReport } from "../../runtime/cache/runRecord.ts"
import { makeLines, ProgressDisplay } from "../../runtime/progress/Progress.ts"
import { BIN, collect, REPO } from "./project.ts"
import { STAGES, TENSOR_STAGES } from "./poolStages.ts"

let dir: string
let stages: Record<string, (...args: Array<any>) => Pipeline<any>>
let tensorStages: Record<string, () => Pipeline<any>>

beforeAll(async () => {
  dir = path.join(REPO, "test", ".tmp", `pool-${process.pid}-${Date.now()}`)
  await fs.mkdir(dir, { recursive: true })
  await fs.writeFile(path.join(dir, "stages.ts"), STAGES)
  await fs.writeFile(path.join(dir, "tensorStages.ts"), TENSOR_STAGES)
  stages = await import(path.join(dir, "stages.ts"))
  tensorStages = await import(path.join(dir, "tensorStages.ts"))
})

afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true })
})

const layerFor = (cacheDir: string, lines: Array<string>) =>
  layerLocal({ cacheDir, workers: 2 }).pipe(Layer.provide(Layer.succeed(ProgressDisplay, makeLines((l) => lines.push(l)))))

const run = (cacheDir: string, pipeline: Pipeline<any>, pool: RunOptions["pool"] | undefined, lines: Array<string> = []): Promise<RunReport> =>
  Effect.runPromise(
    Executor.use((e) => e.run(pipeline, pool === undefined ? {} : { pool })).pipe(Effect.provide(layerFor(cacheDir, lines))),
  )

const entryDir = (cacheDir: string, key: string) => path.join(cacheDir, "entries", key.slice(0, 2), key)

/** name -> (payload file -> bytes) of every entry the report names. */
const payloads = async (cacheDir: string, report: RunReport) => {
  const out: Record<string, Record<string, string>> = {}
  for (const s of report.stages) {
    const manifest = JSON.parse(await fs.readFile(path.join(entryDir(cacheDir, s.key), "manifest.json"), "utf8")) as { files: Array<{ name: string }> }
    out[s.name] = {}
    for (const f of manifest.files) out[s.name]![f.name] = (await fs.readFile(path.join(entryDir(cacheDir, s.key), "payload", f.name))).toString("base64")
  }
  return out
}

const statuses = (report: RunReport) => Object.fromEntries(report.stages.map((s) => [s.name, s.status]))

const cacheDir = async (name: string) => {
  const d = path.join(dir, "cache", name)
  await fs.mkdir(d, { recursive: true })
  return d
}

describe("worker pool for fan-out items", () => {
  it("gives byte-identical entries to an in-process run, with progress and log lines, Many inputs included", async () => {
    const plain = await cacheDir("plain")
    const pooled = await cacheDir("pooled")
    const inProcess = await run(plain, stages.mainPipeline!(), undefined)
    const lines: Array<string> = []
    const inPool = await run(pooled, stages.mainPipeline!(), { workers: 2 }, lines)
    const all = { numbers: "ran", "scaled[x2]": "ran", "scaled[x3]": "ran", "scaled[x5]": "ran", "combined[o0]": "ran", "combined[o1]": "ran" }
    expect(statuses(inProcess)).toEqual(all)
    expect(statuses(inPool)).toEqual(all)
    expect(inPool.stages.map((s) => s.key)).toEqual(inProcess.stages.map((s) => s.key))
    expect(await payloads(pooled, inPool)).toEqual(await payloads(plain, inProcess))
    const combined = await fs.readFile(path.join(entryDir(pooled, inPool.stages.find((s) => s.name === "combined[o1]")!.key), "payload", "value.json"), "utf8")
    expect(JSON.parse(combined)).toBe("x2=21,x3=31,x5=51;n=4")
    // Every item ran in a worker thread, not in this one.
    const threads = lines.flatMap((l) => /^\[scaled\[x\d\]\] scaling by \d in thread (\d+)$/.exec(l)?.[1] ?? []).map(Number)
    expect(threads).toHaveLength(3)
    expect(threads).not.toContain(mainThreadId)
    expect(lines.some((l) => l.startsWith("[scaled[x5]] 1/1 (100%)") && l.endsWith("scaled"))).toBe(true)
    expect(lines.some((l) => l.includes("running in-process"))).toBe(false)
    // A second pooled run is served from the cache; no worker outlives a run.
    expect(new Set((await run(pooled, stages.mainPipeline!(), { workers: 2 })).stages.map((s) => s.status))).toEqual(new Set(["cached"]))
    expect(liveWorkerCount()).toBe(0)
  })

  it("a failing item fails with the stage's error tag and message, as in-process; the other items succeed", async () => {
    const plainReport = await run(await cacheDir("fail-plain"), stages.failingPipeline!(), undefined)
    const lines: Array<string> = []
    const report = await run(await cacheDir("fail-pooled"), stages.failingPipeline!(), { workers: 2 }, lines)
    const badThread = lines.flatMap((l) => /^\[scaled\[bad\]\] scaling by 7 in thread (\d+)$/.exec(l)?.[1] ?? []).map(Number)
    expect(badThread).toHaveLength(1)
    expect(badThread).not.toContain(mainThreadId)
    expect(statuses(report)).toEqual({ numbers: "ran", "scaled[ok]": "ran", "scaled[bad]": "failed", "scaled[also]": "ran" })
    const bad = report.stages.find((s) => s.name === "scaled[bad]")!
    expect(bad.error).toEqual({ _tag: "StageFailed", message: "stage scaled[bad] (pool/scale) failed: ScaleRefused: factor 7 is refused" })
    expect(bad.error).toEqual(plainReport.stages.find((s) => s.name === "scaled[bad]")!.error)
    expect(report.ok).toBe(false)
    expect(liveWorkerCount()).toBe(0)
  })

  it("a worker that dies during an item fails that item with WorkerCrashed; the others run", async () => {
    const report = await run(await cacheDir("crash"), stages.crashPipeline!(), { workers: 2 })
    expect(statuses(report)).toEqual({ numbers: "ran", "c[ok]": "ran", "c[dies]": "failed" })
    expect(report.stages.find((s) => s.name === "c[dies]")!.error).toEqual({
      _tag: "StageFailed",
      message: "stage c[dies] (pool/crash) failed: WorkerCrashed: the pool worker running c[dies] stopped: it exited with code 7",
    })
    expect(liveWorkerCount()).toBe(0)
  })

  it("ssl-kd run uses the pool with --workers 2 and runs in-process with --workers 1", async () => {
    await fs.writeFile(path.join(dir, "cli.ts"), `import { mainPipeline } from "./stages.ts"\nexport default mainPipeline()\n`)
    const env: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: "0" }
    delete env.SSL_KD_POOL
    const cli = (args: ReadonlyArray<string>) => collect(spawn(process.execPath, [BIN, ...args], { cwd: dir, stdio: ["ignore", "pipe", "pipe"], env }))
    const threadsIn = (stderr: string) => [...stderr.matchAll(/^\[scaled\[x\d\]\] scaling by \d in thread (\d+)$/gm)].map((m) => Number(m[1]))
    const pooled = await cli(["run", "cli.ts", "--workers", "2", "--cache-dir", path.join(dir, "cache", "cli-pooled")])
    expect(pooled.code, pooled.stderr).toBe(0)
    expect(threadsIn(pooled.stderr)).toHaveLength(3)
    expect(threadsIn(pooled.stderr)).not.toContain(0)
    const single = await cli(["run", "cli.ts", "--workers", "1", "--force", "scaled", "--cache-dir", path.join(dir, "cache", "cli-pooled")])
    expect(single.code, single.stderr).toBe(0)
    expect(threadsIn(single.stderr)).toEqual([0, 0, 0])
  })

  it("an item whose stage is not exported runs in-process and says why", async () => {
    const lines: Array<string> = []
    const report = await run(await cacheDir("hidden"), stages.hiddenPipeline!(), { workers: 2 }, lines)
    expect(statuses(report)).toEqual({ numbers: "ran", "h[a]": "ran", "h[b]": "ran" })
    const fallback = lines.filter((l) => l.includes("running in-process, not in a pool worker"))
    expect(fallback).toHaveLength(2)
    expect(fallback[0]).toMatch(/stage pool\/hidden is not an exported top-level value of stages\.ts/)
    const value = await fs.readFile(path.join(entryDir(path.join(dir, "cache", "hidden"), report.stages[1]!.key), "payload", "value.json"), "utf8")
    expect(JSON.parse(value)).toBe(`a:1+2+3+4:${mainThreadId}`)
    expect(liveWorkerCount()).toBe(0)
  })

  it("runs two items at once in two worker threads", async () => {
    const barrier = path.join(dir, "barrier")
    await fs.mkdir(barrier, { recursive: true })
    const cache = await cacheDir("timed")
    const report = await run(cache, stages.timedPipeline!(barrier), { workers: 2 })
    expect(statuses(report)).toEqual({ numbers: "ran", "timed[a]": "ran", "timed[b]": "ran" })
    const read = async (name: string) =>
      JSON.parse(await fs.readFile(path.join(entryDir(cache, report.stages.find((s) => s.name === name)!.key), "payload", "value.json"), "utf8")) as {
        threadId: number
        start: number
        end: number
        together: boolean
      }
    const a = await read("timed[a]")
    const b = await read("timed[b]")
    expect(a.together && b.together).toBe(true)
    expect(a.threadId).not.toBe(b.threadId)
    expect([a.threadId, b.threadId]).not.toContain(mainThreadId)
    // Both busy loops were running at the same time.
    expect(a.start < b.end && b.start < a.end).toBe(true)
    expect(liveWorkerCount()).toBe(0)
  })

  it("interruption stops the item in its worker: its finalizers run, no entry is committed, no worker is left", async () => {
    const marks = path.join(dir, "marks")
    await fs.mkdir(marks, { recursive: true })
    const cache = await cacheDir("slow")
    const lines: Array<string> = []
    const pipeline = stages.slowPipeline!(marks)
    const fiber = Effect.runFork(Executor.use((e) => e.run(pipeline, { pool: { workers: 2 } })).pipe(Effect.provide(layerFor(cache, lines))))
    for (let i = 0; i < 600 && !lines.includes("[slow[long]] second step"); i++) await new Promise((r) => setTimeout(r, 50))
    expect(lines).toContain("[slow[long]] second step")
    expect(liveWorkerCount()).toBe(1)
    await Effect.runPromise(Fiber.interrupt(fiber))
    expect(liveWorkerCount()).toBe(0)
    expect((await fs.readdir(marks)).filter((f) => f.startsWith("interrupted-"))).toHaveLength(1)
    const plan = await Effect.runPromise(Executor.use((e) => e.plan(pipeline)).pipe(Effect.provide(layerFor(cache, []))))
    const long = plan.nodes.find((n) => n.node.name === "slow[long]")!
    expect(long.status).toBe("will-run")
    await expect(fs.stat(entryDir(cache, long.key))).rejects.toThrow()
    expect(await fs.readdir(path.join(cache, "tmp")).catch(() => [])).toEqual([])
  })

  it("a stage using tfjs runs in a worker on the backend it selected, recorded in the manifest", async () => {
    const cache = await cacheDir("tensors")
    const lines: Array<string> = []
    const report = await run(cache, tensorStages.tensorPipeline!(), { workers: 2, tensorBackend: { flag: "cpu" } }, lines)
    expect(statuses(report)).toEqual({ numbers: "ran", "mm[k2]": "ran", "mm[k3]": "ran" })
    const k3 = report.stages.find((s) => s.name === "mm[k3]")!
    const value = JSON.parse(await fs.readFile(path.join(entryDir(cache, k3.key), "payload", "value.json"), "utf8")) as {
      values: Array<number>
      backend: string
      threadId: number
      leaked: number
    }
    expect(value.values).toEqual([3, 6, 9, 12])
    expect(value.backend).toBe("cpu")
    expect(value.threadId).not.toBe(mainThreadId)
    expect(value.leaked).toBe(0)
    const manifest = JSON.parse(await fs.readFile(path.join(entryDir(cache, k3.key), "manifest.json"), "utf8")) as { backend: string }
    expect(manifest.backend).toMatch(/^cpu \S+ \(/)
    const numbersManifest = JSON.parse(await fs.readFile(path.join(entryDir(cache, report.stages[0]!.key), "manifest.json"), "utf8")) as { backend: string }
    expect(numbersManifest.backend).toBe("none")
    expect(lines.some((l) => /tensor backend: cpu/.test(l))).toBe(true)
    expect(lines.some((l) => l.includes("still allocated"))).toBe(false)
    expect(liveWorkerCount()).toBe(0)
  })

  it("with scope all, a single (not fan-out) node runs in a worker too, with the same entry as in-process", async () => {
    const plain = await cacheDir("all-plain")
    const pooled = await cacheDir("all-pooled")
    const inProcess = await run(plain, stages.singlePipeline!(), undefined)
    const fanOutOnly: Array<string> = []
    await run(await cacheDir("all-fanout"), stages.singlePipeline!(), { workers: 2 }, fanOutOnly)
    const lines: Array<string> = []
    const all = await run(pooled, stages.singlePipeline!(), { workers: 2, scope: "all" }, lines)
    const threadOf = (ls: Array<string>) => ls.flatMap((l) => /^\[single\] scaling by 2 in thread (\d+)$/.exec(l)?.[1] ?? []).map(Number)
    expect(threadOf(fanOutOnly)).toEqual([mainThreadId])
    expect(threadOf(lines)).toHaveLength(1)
    expect(threadOf(lines)).not.toContain(mainThreadId)
    expect(statuses(all)).toEqual({ numbers: "ran", single: "ran" })
    expect(await payloads(pooled, all)).toEqual(await payloads(plain, inProcess))
    expect(liveWorkerCount()).toBe(0)
  })

  it("with scope all, the main process decodes no stage's value, and a corrupt cached input of a pooled stage is still recomputed", async () => {
    const decodedIn = stages.decodedIn as unknown as Array<number>
    const pooled = await cacheDir("counted-pooled")
    const first = await run(pooled, stages.countedPipeline!(1), { workers: 2, scope: "all" })
    expect(statuses(first)).toEqual({ numbers: "ran", mid: "ran", end: "ran" })
    expect(decodedIn).toEqual([])
    // end changes; mid is cached but its payload is corrupted: verified here (checksums), quarantined, recomputed in a worker.
    const mid = first.stages.find((s) => s.name === "mid")!
    const midFile = path.join(entryDir(pooled, mid.key), "payload", "value.json")
    await fs.writeFile(midFile, (await fs.readFile(midFile, "utf8")).replace("11", "21")) // same size: only its checksum tells
    const lines: Array<string> = []
    const second = await run(pooled, stages.countedPipeline!(2), { workers: 2, scope: "all" }, lines)
    expect(statuses(second)).toEqual({ numbers: "cached", mid: "ran", end: "ran" })
    expect(lines.some((l) => l.startsWith("[mid] cached entry unusable") && l.includes("sha256"))).toBe(true)
    expect(decodedIn).toEqual([])
    const endEntry = JSON.parse(await fs.readFile(path.join(entryDir(pooled, second.stages.find((s) => s.name === "end")!.key), "payload", "value.json"), "utf8"))
    expect(endEntry).toEqual([13, 14, 15, 16])
    // In-process, a cached input is decoded here, once: the counter sees main-process decodes.
    const plain = await cacheDir("counted-plain")
    await run(plain, stages.countedPipeline!(1), undefined)
    expect(decodedIn).toEqual([])
    await run(plain, stages.countedPipeline!(3), undefined)
    expect(decodedIn).toEqual([mainThreadId])
    expect(liveWorkerCount()).toBe(0)
  })

  it("a pooled stage's recorded time starts when a worker takes it, not while it waits for a free one", async () => {
    const cache = await cacheDir("two-slow")
    const work = path.join(dir, "two-slow-work")
    await fs.mkdir(work, { recursive: true })
    const report = await run(cache, stages.twoSlowPipeline!(work), { workers: 1 })
    const spans = await Promise.all(
      ["slow[a]", "slow[b]"].map(async (name) => {
        const key = report.stages.find((s) => s.name === name)!.key
        const m = JSON.parse(await fs.readFile(path.join(entryDir(cache, key), "manifest.json"), "utf8")) as { timings: { startedAt: string; finishedAt: string; durationMs: number } }
        return [Date.parse(m.timings.startedAt), Date.parse(m.timings.finishedAt), m.timings.durationMs] as const
      }),
    )
    const [first, second] = spans.sort((x, y) => x[0] - y[0])
    // One worker: the items ran one after the other, and so do their recorded intervals.
    expect(second![0]).toBeGreaterThanOrEqual(first![1] - 5)
    for (const [start, end, ms] of spans) expect(end - start).toBe(ms)
  })

  it("with one worker, a stage whose input just finished runs before independent stages queued earlier (deepest first)", async () => {
    const cache = await cacheDir("ordered")
    const work = path.join(dir, "ordered-work")
    await fs.mkdir(work, { recursive: true })
    const report = await run(cache, stages.orderedPipeline!(work), { workers: 1, scope: "all" })
    expect(report.stages.every((s) => s.status === "ran")).toBe(true)
    // The three trainings reach the pool in whatever order their lock and lookup I/O finish; the
    // evaluation must follow its training at once, ahead of the trainings still queued (FIFO gave it last:
    // train-a, train-b, train-c, eval-a).
    const order = (await fs.readFile(path.join(work, "order.log"), "utf8")).trim().split("\n")
    expect([...order].sort()).toEqual(["eval-a", "train-a", "train-b", "train-c"])
    expect(order.indexOf("eval-a")).toBe(order.indexOf("train-a") + 1)
  })

  it("a pooled output that does not decode fails its stage with an OutputError and commits no entry", async () => {
    const pooled = await cacheDir("broken")
    const report = await run(pooled, stages.brokenPipeline!(), { workers: 2, scope: "all" })
    const broken = report.stages.find((s) => s.name === "broken")!
    expect(broken.status).toBe("failed")
    expect(broken.error?._tag).toBe("OutputError")
    expect(broken.error?.message).toContain("does not decode: ")
    expect(broken.error?.message).toContain("this codec cannot read its own files")
    await expect(fs.stat(entryDir(pooled, broken.key))).rejects.toThrow()
    expect(liveWorkerCount()).toBe(0)
  })
})
