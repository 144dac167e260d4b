import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Duration, Effect, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { Artifact, Config, Pipeline, Stage } from "../../dsl/index.ts"
import { makeLines, makeTTY } from "../../runtime/progress/Progress.ts"
import { runPipeline, statuses, tempDir } from "./harness.ts"

const Text = Artifact.json("Text", Schema.String)
const Count = Artifact.json("Count", Schema.Int)

/** Reads the file named in its config: its content is part of the key. */
export const readFile = Stage.make({
  name: "test/read-file",
  config: Schema.Struct({ file: Schema.String }),
  inputs: {},
  output: Text,
  reads: (config) => [config.file],
  run: ({ config }) => Effect.promise(() => fs.readFile(config.file, "utf8")),
})

export const length = Stage.make({
  name: "test/length",
  config: Schema.Struct({}),
  inputs: { text: Text },
  output: Count,
  run: ({ inputs }) => Effect.succeed(inputs.text.length),
})

let running = 0
let peak = 0
/** Sleeps while counting how many instances run at once. */
export const busy = Stage.make({
  name: "test/busy",
  config: Schema.Struct({ item: Config.withDefault(Schema.Int, 0) }),
  inputs: {},
  output: Count,
  run: ({ config }) =>
    Effect.gen(function* () {
      running++
      peak = Math.max(peak, running)
      yield* Effect.sleep(Duration.millis(40))
      running--
      return config.item
    }),
})

describe("executor: dataset identity and fan-out bounds", () => {
  it("replacing a file a stage reads reruns exactly the stages that read it", async () => {
    const dir = await tempDir("data")
    const [a, b] = [path.join(dir, "a.txt"), path.join(dir, "b.txt")]
    await fs.writeFile(a, "hello")
    await fs.writeFile(b, "world!")
    const p = Pipeline.make("files")
      .stage("ra", readFile, { config: { file: a } })
      .stage("la", length, { inputs: { text: "ra" } })
      .stage("rb", readFile, { config: { file: b } })
      .stage("lb", length, { inputs: { text: "rb" } })
      .build()
    const cache = path.join(dir, "cache")
    expect(statuses(await runPipeline(cache, p))).toEqual({ ra: "ran", la: "ran", rb: "ran", lb: "ran" })
    await fs.writeFile(b, "world?")
    expect(statuses(await runPipeline(cache, p))).toEqual({ ra: "cached", la: "cached", rb: "ran", lb: "ran" })
    // Same content again: identity is by content, so the first entry serves.
    await fs.writeFile(b, "world!")
    expect(statuses(await runPipeline(cache, p))).toEqual({ ra: "cached", la: "cached", rb: "cached", lb: "cached" })
    await fs.rm(a)
    const err = await runPipeline(cache, p).then(
      () => undefined,
      (e: unknown) => String(e),
    )
    expect(err).toContain(`cannot identify dataset path ${a}: no such file or folder`)
  })

  it("fan-out items run concurrently, at most `concurrency` at once", async () => {
    const over = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`i${i}`, { item: i }]))
    for (const concurrency of [1, 3]) {
      peak = 0
      const p = Pipeline.make("fan").fanOut("work", busy, { over, concurrency }).build()
      const report = await runPipeline(await tempDir("fan"), p)
      expect(report.stages.every((s) => s.status === "ran")).toBe(true)
      expect(peak).toBe(concurrency)
    }
  })
})

describe("progress display", () => {
  it("plain lines: start, first update, then at most one line per stage every 5 s; stage k/N on the end line", async () => {
    const lines: Array<string> = []
    let now = 0
    const d = makeLines((l) => lines.push(l), () => now)
    await Effect.runPromise(d.begin!(2))
    await Effect.runPromise(d.started("train", "no cached entry"))
    // 20 quick updates (100 ms apart): only the first is printed.
    for (let i = 1; i <= 20; i++) {
      now += 100
      await Effect.runPromise(d.progress("train", { done: i, total: 20, note: `loss ${(1 / i).toFixed(2)}` }))
    }
    await Effect.runPromise(d.finished("train", "ran", now))
    expect(lines).toEqual(["[train] started (no cached entry)", "[train] 1/20 (5%) eta ? loss 1.00", "[train] done in 2.0s (stage 1/2)"])
  })

  it("plain lines: slow progress prints every 5 s with an ETA from the smoothed rate; cached stages only with verbose", async () => {
    const lines: Array<string> = []
    let now = 0
    const d = makeLines((l) => lines.push(l), () => now)
    await Effect.runPromise(d.begin!(1))
    await Effect.runPromise(d.started("fit", ""))
    // A slow first step (warm-up), then one unit per second: the ETA ignores the warm-up.
    now = 10_000
    for (let i = 1; i <= 20; i++) {
      await Effect.runPromise(d.progress("fit", { done: i, total: 20 }))
      now += 1000
    }
    const progressLines = lines.filter((l) => l.includes("/20 ("))
    expect(progressLines).toEqual(["[fit] 1/20 (5%) eta ?", "[fit] 6/20 (30%) eta 14.0s", "[fit] 11/20 (55%) eta 9.0s", "[fit] 16/20 (80%) eta 4.0s"])
    await Effect.runPromise(d.finished("cached-one", "cached", 0))
    expect(lines.some((l) => l.includes("cached-one"))).toBe(false)
    const verbose: Array<string> = []
    const v = makeLines((l) => verbose.push(l), () => 0, { verbose: true })
    await Effect.runPromise(v.finished("cached-one", "cached", 0))
    expect(verbose).toEqual(["[cached-one] cached"])
  })

  it("TTY: a live bar per running stage, redrawn in place", async () => {
    let out = ""
    let now = 0
    const d = makeTTY({ write: (s: string) => (out += s), columns: 100 }, () => now)
    await Effect.runPromise(d.started("train", ""))
    now += 1000
    await Effect.runPromise(d.progress("train", { done: 4, total: 10 }))
    now += 1000
    await Effect.runPromise(d.progress("train", { done: 5, total: 10 }))
    // One unit per second since the first update: 5 left.
    expect(out).toContain("train [############------------] 50% 5/10 eta 5.0s")
    await Effect.runPromise(d.finished("train", "ran", 2000))
    expect(out).toContain("\x1b[1A\x1b[0J")
    expect(out).toContain("✓ train done in 2.0s")
  })
})
