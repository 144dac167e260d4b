/**
 * Peak resident memory per stage (issue 16, item 4): sampled while a stage
 * runs (runtime/executor/memory.ts), recorded in its manifest
 * (`timings.peakRssBytes`), listed by `cache ls`. A stage that holds 384 MiB
 * for a while must show a peak at least that far above the process's RSS
 * before it ran; a stage that holds nothing must not.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Duration, Effect, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { Artifact, Pipeline, Stage } from "../../dsl/index.ts"
import { runPipeline, tempDir } from "./harness.ts"
import { spawn } from "node:child_process"
import { BIN, collect } from "./project.ts"

const MiB = 2 ** 20
const Held = Artifact.json("Held", Schema.Struct({ bytes: Schema.Int, rssBefore: Schema.Int }))

export const hold = Stage.make({
  name: "test/hold-memory",
  config: Schema.Struct({ mib: Schema.Int }),
  inputs: {},
  output: Held,
  run: ({ config }) =>
    Effect.gen(function* () {
      const rssBefore = process.memoryUsage.rss()
      const block = Buffer.alloc(config.mib * MiB)
      block.fill(7) // resident, not just reserved
      yield* Effect.sleep(Duration.millis(800))
      return { bytes: block.reduce((a, b, i) => (i % MiB === 0 ? a + b : a), 0), rssBefore }
    }),
})

const manifestOf = async (dir: string, key: string) =>
  JSON.parse(await fs.readFile(path.join(dir, "entries", key.slice(0, 2), key, "manifest.json"), "utf8")) as { timings: { peakRssBytes?: number } }

describe("peak RSS per stage", () => {
  it("is recorded in the manifest: 384 MiB held by a stage shows in its peak", async () => {
    const dir = await tempDir("peak-rss")
    const report = await runPipeline(dir, Pipeline.make("hold").stage("big", hold, { config: { mib: 384 } }).stage("small", hold, { config: { mib: 0 } }).build())
    const byName = Object.fromEntries(report.stages.map((s) => [s.name, s]))
    const value = async (key: string) =>
      JSON.parse(await fs.readFile(path.join(dir, "entries", key.slice(0, 2), key, "payload", "value.json"), "utf8")) as { rssBefore: number }
    const big = await manifestOf(dir, byName["big"]!.key)
    const small = await manifestOf(dir, byName["small"]!.key)
    expect(big.timings.peakRssBytes).toBeGreaterThanOrEqual((await value(byName["big"]!.key)).rssBefore + 300 * MiB)
    // Independent stages run concurrently in one process, so small's window may include big's memory: only present.
    expect(small.timings.peakRssBytes).toBeGreaterThan(0)
  })

  it("cache ls shows each entry's time and peak RSS", async () => {
    const dir = await tempDir("peak-rss-ls")
    await runPipeline(dir, Pipeline.make("hold-ls").stage("big", hold, { config: { mib: 128 } }).build())
    const cli = (args: ReadonlyArray<string>) => collect(spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] }))
    const out = await cli(["cache", "ls", "--cache-dir", dir])
    expect(out.stdout).toMatch(/peak RSS/)
    const row = out.stdout.split("\n").find((l) => l.includes("test/hold-memory"))!
    expect(row).toMatch(/\d+\.\d s/)
    expect(row).toMatch(/\d+(\.\d+)? (MiB|GiB)/)
    const json = await cli(["cache", "ls", "--cache-dir", dir, "--json"])
    const entry = (JSON.parse(json.stdout) as { entries: Array<{ peakRssBytes?: number }> }).entries[0]!
    expect(entry.peakRssBytes).toBeGreaterThan(128 * MiB)
  })
})
