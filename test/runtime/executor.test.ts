import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Effect, Exit } from "effect"
import { describe, expect, it } from "vitest"
import { Pipeline } from "../../dsl/index.ts"
import { Executor } from "../../runtime/executor/Executor.ts"
import { describeTotals, generate, sum } from "../dsl/sampleStages.ts"
import { planPipeline, runPipeline, statuses, tempDir, withExecutor } from "./harness.ts"

const pipeline = (count = 3, scale = 1) =>
  Pipeline.make("arith")
    .stage("gen", generate, { config: { count } })
    .stage("total", sum, { inputs: { numbers: "gen" }, config: { scale } })
    .fanOut("scaled", sum, { inputs: { numbers: "gen" }, over: { x2: { scale: 2 }, x10: { scale: 10 } } })
    .stage("report", describeTotals, { inputs: { totals: "scaled" } })
    .stage("gen2", generate, { config: { count: 2 } })
    .preset("bad", { gen: { count: 0 } })
    .build()

describe("executor", () => {
  it("runs every stage once, then serves every stage from the cache", async () => {
    const dir = await tempDir("exec")
    const first = await runPipeline(dir, pipeline())
    expect(statuses(first)).toEqual({ gen: "ran", total: "ran", "scaled[x2]": "ran", "scaled[x10]": "ran", report: "ran", gen2: "ran" })
    const second = await runPipeline(dir, pipeline())
    expect(new Set(second.stages.map((s) => s.status))).toEqual(new Set(["cached"]))
    expect(second.stages.map((s) => s.key)).toEqual(first.stages.map((s) => s.key))
  })

  it("passes values along edges and gathers fan-out items in order", async () => {
    const dir = await tempDir("exec")
    await runPipeline(dir, pipeline(4))
    const plan = await planPipeline(dir, pipeline(4))
    const report = plan.nodes.find((n) => n.node.name === "report")!
    const raw = await fs.readFile(path.join(dir, "entries", report.key.slice(0, 2), report.key, "payload", "value.json"), "utf8")
    expect(JSON.parse(raw)).toBe("x2=20,x10=100")
  })

  it("gathers a list of nodes and fan-out groups into a many input, by node name, and reruns it when one source changes", async () => {
    const dir = await tempDir("exec")
    const gather = (scale: number) =>
      Pipeline.make("gather")
        .stage("gen", generate, { config: { count: 3 } })
        .stage("one", sum, { inputs: { numbers: "gen" } })
        .fanOut("scaled", sum, { inputs: { numbers: "gen" }, over: { x2: { scale: 2 }, x10: { scale } } })
        .stage("all", describeTotals, { inputs: { totals: ["scaled", "one"] } })
        .build()
    const first = await runPipeline(dir, gather(10))
    expect(statuses(first)).toEqual({ gen: "ran", one: "ran", "scaled[x2]": "ran", "scaled[x10]": "ran", all: "ran" })
    const plan = await planPipeline(dir, gather(10))
    const all = plan.nodes.find((n) => n.node.name === "all")!
    const raw = await fs.readFile(path.join(dir, "entries", all.key.slice(0, 2), all.key, "payload", "value.json"), "utf8")
    expect(JSON.parse(raw)).toBe("scaled[x2]=12,scaled[x10]=60,one=6")
    const second = await runPipeline(dir, gather(5))
    expect(statuses(second)).toEqual({ gen: "cached", one: "cached", "scaled[x2]": "cached", "scaled[x10]": "ran", all: "ran" })
  })

  it("a config change reruns exactly that stage and its descendants", async () => {
    const dir = await tempDir("exec")
    await runPipeline(dir, pipeline(3, 1))
    const changed = await runPipeline(dir, pipeline(3, 3))
    expect(statuses(changed)).toEqual({ gen: "cached", total: "ran", "scaled[x2]": "cached", "scaled[x10]": "cached", report: "cached", gen2: "cached" })
    const upstream = await runPipeline(dir, pipeline(5, 3))
    expect(statuses(upstream)).toEqual({ gen: "ran", total: "ran", "scaled[x2]": "ran", "scaled[x10]": "ran", report: "ran", gen2: "cached" })
  })

  it("plan reports will-run and cached without running anything", async () => {
    const dir = await tempDir("exec")
    const before = await planPipeline(dir, pipeline())
    expect(before.nodes.every((n) => n.status === "will-run" && n.reason === "no cached entry")).toBe(true)
    await expect(fs.readdir(path.join(dir, "entries"))).rejects.toThrow()
    await runPipeline(dir, pipeline())
    const after = await planPipeline(dir, pipeline())
    expect(after.nodes.every((n) => n.status === "cached")).toBe(true)
  })

  it("--force reruns the stage and its descendants only", async () => {
    const dir = await tempDir("exec")
    await runPipeline(dir, pipeline())
    const forced = await runPipeline(dir, pipeline(), { force: ["scaled"] })
    expect(statuses(forced)).toEqual({ gen: "cached", total: "cached", "scaled[x2]": "ran", "scaled[x10]": "ran", report: "ran", gen2: "cached" })
  })

  it("a truncated payload is detected, reported and recomputed", async () => {
    const dir = await tempDir("exec")
    const first = await runPipeline(dir, pipeline())
    const key = first.stages.find((s) => s.name === "total")!.key
    const file = path.join(dir, "entries", key.slice(0, 2), key, "payload", "value.json")
    const bytes = await fs.readFile(file)
    await fs.writeFile(file, bytes.subarray(0, bytes.length - 3))
    const plan = await planPipeline(dir, pipeline())
    const total = plan.nodes.find((n) => n.node.name === "total")!
    expect(total.status).toBe("will-run")
    expect(total.reason).toMatch(/corrupt cache entry \(payload file value.json has \d+ bytes, manifest says \d+ bytes\)/)
    const again = await runPipeline(dir, pipeline())
    expect(statuses(again).total).toBe("ran")
    expect(again.stages.find((s) => s.name === "total")!.reason).toMatch(/corrupt/)
    const third = await runPipeline(dir, pipeline())
    expect(statuses(third).total).toBe("cached")
    expect((await fs.readdir(path.join(dir, "corrupt"))).some((n) => n.startsWith(key))).toBe(true)
  })

  it("a bit flip in a cached input is caught by its checksum when the value is needed", async () => {
    const dir = await tempDir("exec")
    const first = await runPipeline(dir, pipeline(3, 1))
    const key = first.stages.find((s) => s.name === "gen")!.key
    const file = path.join(dir, "entries", key.slice(0, 2), key, "payload", "value.json")
    const text = await fs.readFile(file, "utf8")
    await fs.writeFile(file, text.replace("3", "4")) // same size, different bytes
    const next = await runPipeline(dir, pipeline(3, 3)) // total reruns and needs gen's value
    expect(statuses(next).gen).toBe("ran")
    expect(next.stages.find((s) => s.name === "gen")!.reason).toMatch(/corrupt cache entry .*checksum/)
    expect(statuses(next).total).toBe("ran")
  })

  it("bad config fails before any stage runs, naming the stage, field and expectation", async () => {
    const dir = await tempDir("exec")
    const exit = await Effect.runPromiseExit(
      Executor.use((e) => e.run(pipeline(), { preset: "bad" })).pipe(Effect.provide(withExecutor(dir))),
    )
    expect(Exit.isFailure(exit)).toBe(true)
    const message = Exit.isFailure(exit) ? String((exit.cause as unknown as { reasons?: unknown }) && JSON.stringify(exit)) : ""
    expect(message).toContain("ConfigError")
    const err = await Effect.runPromise(
      Executor.use((e) => e.run(pipeline(), { set: { total: { scale: "big" } } })).pipe(Effect.flip, Effect.provide(withExecutor(dir))),
    )
    expect(err._tag).toBe("ConfigError")
    expect(err.message).toContain("stage total (test/sum)")
    expect(err.message).toContain("scale: Expected number")
    expect(err.message).toContain('got "big"')
    const range = await Effect.runPromise(
      Executor.use((e) => e.run(pipeline(), { preset: "bad" })).pipe(Effect.flip, Effect.provide(withExecutor(dir))),
    )
    expect(range.message).toMatch(/stage gen \(test\/generate\).*\n.*count: Expected a value between 1 and 1000, got 0/)
    await expect(fs.readdir(path.join(dir, "entries"))).rejects.toThrow()
  })

  it("identical stage instances share one entry, computed once", async () => {
    const dir = await tempDir("exec")
    const twins = Pipeline.make("twins")
      .stage("gen", generate, {})
      .stage("a", sum, { inputs: { numbers: "gen" } })
      .stage("b", sum, { inputs: { numbers: "gen" } })
      .build()
    const report = await runPipeline(dir, twins)
    const [a, b] = [report.stages.find((s) => s.name === "a")!, report.stages.find((s) => s.name === "b")!]
    expect(a.key).toBe(b.key)
    expect([a.status, b.status].sort()).toEqual(["cached", "ran"])
  })

  it("unknown preset and --force names get did-you-mean errors", async () => {
    const dir = await tempDir("exec")
    const preset = await Effect.runPromise(
      Executor.use((e) => e.plan(pipeline(), { preset: "bda" })).pipe(Effect.flip, Effect.provide(withExecutor(dir))),
    )
    expect(preset.message).toBe('unknown preset of pipeline arith "bda". Did you mean "bad"? Known: bad')
    const force = await Effect.runPromise(
      Executor.use((e) => e.plan(pipeline(), { force: ["totl"] })).pipe(Effect.flip, Effect.provide(withExecutor(dir))),
    )
    expect(force.message).toContain('Did you mean "total"?')
  })
})
