/**
 * `pipelines/teacher-adaptation.ts` at its smoke preset (synthetic shapes,
 * vitMicroPatch7_28, seconds): the teachers are pretrained by the teachers
 * pipeline's own nodes and configs, every stage runs, Table 1's six rows come
 * out with the trainable counts ordered linear < Partial-1 < full (and equal
 * across the two teachers of the same shape), the two eq. 2 tables have one
 * entry per head, no tensor is left behind, and a rerun is served from the cache.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import { beforeAll, expect, it } from "vitest"
import { Config } from "../../dsl/index.ts"
import family from "../../pipelines/teacher-adaptation.ts"
import teachers from "../../pipelines/teachers.ts"
import { TensorBackend } from "../../runtime/backend/TensorBackend.ts"
import { runPipelineWith, selectTestBackend } from "../plugins/teachers/stageHarness.ts"
import { statuses, tempDir } from "../runtime/harness.ts"

beforeAll(selectTestBackend)

const pipeline = family.members.smoke

interface Row { teacher: string; mode: string; trainable: number; total: number; top1: number; trainTop1: number }
interface Heads { perHead: Array<number>; best: number; layer: number }

it("reuses the teachers pipeline's pretraining nodes (its config with the same preset applied)", async () => {
  for (const preset of ["smoke", "demo"] as const) {
    const mine = await Effect.runPromise(Config.resolveConfigs(family.members[preset], {}))
    const theirs = await Effect.runPromise(Config.resolveConfigs(teachers, teachers.presets[preset] ?? {}))
    for (const name of ["dino", "mae"]) {
      expect(family.members[preset].nodes.find((n) => n.name === name)?.stage).toBe(teachers.nodes.find((n) => n.name === name)?.stage)
      expect(mine.get(name)).toEqual(theirs.get(name))
    }
  }
})

it("decodes every node's config at every scale", async () => {
  for (const member of Object.values(family.members)) {
    const configs = await Effect.runPromise(Config.resolveConfigs(member, {}))
    expect(configs.size).toBe(17)
  }
})

it("runs the smoke preset end to end, then serves it from the cache", async () => {
  const cache = await tempDir("adaptation-smoke")
  const options = { preset: "smoke", stageServices: TensorBackend.layer({ flag: "wasm" }) }
  const before = tf.memory().numTensors
  const run = await runPipelineWith(cache, pipeline, options)
  expect(tf.memory().numTensors).toBe(before)
  expect(run.ok).toBe(true)
  expect(new Set(Object.values(statuses(run)))).toEqual(new Set(["ran"]))
  const files = (await fs.readdir(cache, { recursive: true })).filter((f) => f.endsWith("value.json"))
  const values = await Promise.all(files.map(async (f) => JSON.parse(await fs.readFile(path.join(cache, f), "utf8")) as Partial<Row & Heads>))
  const rows = values.filter((v): v is Row => typeof v.top1 === "number")
  expect(rows).toHaveLength(6)
  const report = await fs.readdir(cache, { recursive: true })
  expect(report.filter((f) => f.endsWith("report.html"))).toHaveLength(1)
  const count = (teacher: string, mode: string) => rows.find((r) => r.teacher === teacher && r.mode === mode)?.trainable ?? NaN
  for (const t of ["dino", "mae"]) {
    expect(count(t, "linear")).toBeLessThan(count(t, "partial-1"))
    expect(count(t, "partial-1")).toBeLessThan(count(t, "full"))
  }
  expect(count("dino", "partial-1")).toBe(count("mae", "partial-1"))
  for (const r of rows) expect(r.top1 >= 0 && r.top1 <= 1 && r.trainTop1 >= 0 && r.trainTop1 <= 1).toBe(true)
  const heads = values.filter((v): v is Heads => Array.isArray(v.perHead))
  expect(heads.map((h) => [h.perHead.length, h.layer])).toEqual([[4, 1], [4, 1]])
  const again = await runPipelineWith(cache, pipeline, options)
  expect(new Set(Object.values(statuses(again)))).toEqual(new Set(["cached"]))
})
