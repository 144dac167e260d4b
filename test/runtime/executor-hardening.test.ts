/** Regression tests of issue 17 for the executor and the DSL (findings 2, 6, 9). */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { Pipeline } from "../../dsl/index.ts"
import { resolveConfigs } from "../../dsl/Config.ts"
import { parseFrame } from "../../dsl/Stage.ts"
import { generate } from "../dsl/sampleStages.ts"
import { Executor } from "../../runtime/executor/Executor.ts"
import { stageSummaries } from "../../runtime/cli/session.ts"
import { busy, fast, probe, summarized } from "./hardeningStages.ts"
import { planPipeline, runPipeline, statuses, tempDir, withExecutor } from "./harness.ts"

describe("issue 17: executor", () => {
  it("finding 9: a finished stage's entry is on disk before a concurrently training stage runs its next step", async () => {
    const dir = await tempDir("exec-stall")
    const p = Pipeline.make("stall").stage("fast", fast, {}).stage("busy", busy, {}).build()
    const plan = await planPipeline(dir, p)
    const key = plan.nodes.find((n) => n.node.name === "fast")!.key
    Object.assign(probe, { fastDone: false, stalls: 0, chunks: 0, entryFile: path.join(dir, "entries", key.slice(0, 2), key, "manifest.json") })
    const report = await runPipeline(dir, p)
    expect(statuses(report)).toEqual({ fast: "ran", busy: "ran" })
    expect(probe.fastDone).toBe(true)
    expect(probe.chunks).toBe(40)
    expect(probe.stalls).toBeLessThanOrEqual(1)
  })

  it("finding 6: a corrupt entry whose value the caller reads after the run (a report) is recomputed, and a summary never silently vanishes", async () => {
    const dir = await tempDir("exec-report")
    const p = Pipeline.make("report").stage("s", summarized, {}).build()
    const first = await runPipeline(dir, p)
    const key = first.stages[0]!.key
    const file = path.join(dir, "entries", key.slice(0, 2), key, "payload", "value.json")
    const good = await fs.readFile(file, "utf8")
    await fs.writeFile(file, good.replace("table", "tablE"))
    // what `ssl-kd run` prints when the entry is unreadable: a line saying so, not nothing
    const sums = await Effect.runPromise(stageSummaries(dir, p, first.stages))
    expect(sums).toHaveLength(1)
    expect(sums[0]!.text).toMatch(/unavailable.*corrupt/)
    const second = await Effect.runPromise(
      Executor.use((e) => e.run(p, { verifyNodes: ["s"] })).pipe(Effect.provide(withExecutor(dir))),
    )
    expect(second.stages[0]).toMatchObject({ name: "s", status: "ran", reason: expect.stringContaining("corrupt") })
    expect(await fs.readFile(file, "utf8")).toBe(good)
    const again = await Effect.runPromise(stageSummaries(dir, p, second.stages))
    expect(again[0]!.text).toBe("summary: the table")
  })
})

describe("issue 17: config errors", () => {
  it("finding 15: a non-finite number is reported as itself, not as null", async () => {
    const p = Pipeline.make("inf").stage("g", generate, {}).preset("inf", { g: { count: Number.POSITIVE_INFINITY } }).build()
    const err = await Effect.runPromise(Effect.flip(resolveConfigs(p, { g: { count: Number.POSITIVE_INFINITY } })))
    expect(err.nodes[0]!.issues[0]).toMatchObject({ field: "count", actual: "Infinity" })
  })
})

describe("issue 17: stage locations", () => {
  it("finding 2: stack frames with spaces in the path parse to the full file name", () => {
    expect(parseFrame("    at Module.<anonymous> (/home/a b/projects/ssl-kd/plugins/x.ts:12:34)")).toEqual({ file: "/home/a b/projects/ssl-kd/plugins/x.ts", line: 12, column: 34 })
    expect(parseFrame("    at /home/a b/ssl kd/x.ts:1:2")).toEqual({ file: "/home/a b/ssl kd/x.ts", line: 1, column: 2 })
    expect(parseFrame("    at file:///home/a%20b/x%28y%29.ts:3:4")).toEqual({ file: "/home/a b/x(y).ts", line: 3, column: 4 })
    expect(parseFrame("    at async Promise.all (index 0)")).toBeUndefined()
    expect(parseFrame("    at f (C:\\Users\\a b\\x.ts:5:6)")).toEqual({ file: "C:\\Users\\a b\\x.ts", line: 5, column: 6 })
  })
})
