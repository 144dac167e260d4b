/**
 * `paper/ac-select` and `paper/ac-select-pretrained` (sec. 3.3, eq. 2) on a
 * teacher whose last-layer attention the test controls: the query weights of
 * every head are zeroed (softmax of zeros: each row uniform over the 17
 * tokens, C = 1/17), then head 2 gets a large constant query and scaled keys,
 * so each of its rows is near one-hot (C near 1). The selection must name
 * head 2 (not 0: ties go to the lowest index, which would hide a bug), give
 * one entry per head, count the calibration images, and leak no tensor; it
 * reads an adapted teacher too (linear adaptation leaves the backbone as is).
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import * as tf from "@tensorflow/tfjs-core"
import { Effect, Exit } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { acSelect, acSelectPretrained } from "../../../../plugins/stages/paper/acSelect.ts"
import { adaptTeacher } from "../../../../plugins/stages/paper/adapt.ts"
import { randomTeacher } from "../../../../plugins/stages/teachers/load.ts"
import type { TeacherWeightsValue } from "../../../../plugins/teachers/artifact.ts"
import { runStage, selectTestBackend, type StageRun } from "../../teachers/stageHarness.ts"

const tmp = () => fs.mkdtemp(path.join(os.tmpdir(), "ssl-kd-acsel-"))
const SHARP = 2
const calib = { dataset: "synthetic-shapes", calibrationCount: 24, batchSize: 16 }

/** The teacher with block `layer`'s attention set as described above. */
const controlled = (w: TeacherWeightsValue, layer: number, sharp: number): TeacherWeightsValue => {
  const { embedDim: d, numHeads: h } = w.info.config
  const dh = d / h
  const weight = w.state.get(`blocks.${layer}.attn.qkv.weight`)
  const bias = w.state.get(`blocks.${layer}.attn.qkv.bias`)
  if (weight === undefined || bias === undefined) throw new Error("no qkv")
  const wq = Float32Array.from(weight.data)
  const bq = Float32Array.from(bias.data)
  // Rows 0..D-1 are q (head i: rows i·dh .. (i+1)·dh - 1), rows D..2D-1 are k, as in timm's qkv.
  wq.fill(0, 0, d * d)
  bq.fill(0, 0, d)
  bq.fill(50, sharp * dh, (sharp + 1) * dh)
  for (let r = d + sharp * dh; r < d + (sharp + 1) * dh; r++) for (let c = 0; c < d; c++) wq[r * d + c] = (wq[r * d + c] ?? 0) * 100
  const state = new Map(w.state)
  state.set(`blocks.${layer}.attn.qkv.weight`, { shape: weight.shape, data: wq })
  state.set(`blocks.${layer}.attn.qkv.bias`, { shape: bias.shape, data: bq })
  return { info: w.info, state }
}

let teacher: TeacherWeightsValue
beforeAll(async () => {
  await selectTestBackend()
  const random = await Effect.runPromise(runStage(randomTeacher, { teacher: "mae", dataset: "synthetic-shapes", arch: "vitMicroPatch7_28", seed: 4 }, {}, { scratchDir: await tmp() }))
  teacher = controlled(random, 1, SHARP)
})

describe("paper/ac-select", () => {
  it("selects the near one-hot head of the last layer, one entry per head, and leaks nothing", async () => {
    const before = tf.memory().numTensors
    const record: StageRun = { logs: [], progress: [] }
    const r = await Effect.runPromise(runStage(acSelectPretrained, calib, { teacher }, { scratchDir: await tmp(), record }))
    expect(tf.memory().numTensors).toBe(before)
    expect(r).toMatchObject({ teacher: "mae (random init)", layer: 1, best: SHARP, images: 24, queries: "all", dataset: "synthetic-shapes" })
    expect(r.perHead).toHaveLength(4)
    expect(r.perHead[SHARP]).toBeGreaterThan(0.95)
    for (const [h, c] of r.perHead.entries()) if (h !== SHARP) expect(c).toBeCloseTo(1 / 17, 6)
    expect(record.progress.map((p) => p.done)).toEqual([1, 2])
    expect(record.logs[0]).toMatch(/^mae \(random init\): attention confidence of block 1 \(24 images, queries all\): 0:0\.059 1:0\.059 2:0\.9\d\d 3:0\.059; best head 2$/)
  })

  it("ranks patch queries only, and any chosen layer (negative from the end)", async () => {
    const patches = await Effect.runPromise(runStage(acSelectPretrained, { ...calib, queries: "patches", layer: -1 }, { teacher }, { scratchDir: await tmp() }))
    expect(patches).toMatchObject({ layer: 1, best: SHARP, queries: "patches" })
    expect(patches.perHead).toHaveLength(4)
    const first = await Effect.runPromise(runStage(acSelectPretrained, { ...calib, layer: 0 }, { teacher }, { scratchDir: await tmp() }))
    expect(first.layer).toBe(0)
    expect(first.perHead).toHaveLength(4)
    for (const c of first.perHead) expect(c > 1 / 17 - 1e-6 && c <= 1 + 1e-6).toBe(true)
  })

  it("reads an adapted teacher: linear adaptation keeps the backbone, so the choice stays", async () => {
    const adapted = await Effect.runPromise(
      runStage(adaptTeacher, { dataset: "synthetic-shapes", trainCount: 32, batchSize: 16, epochs: 1, mode: "linear" }, { teacher }, { scratchDir: await tmp() }),
    )
    const before = tf.memory().numTensors
    const r = await Effect.runPromise(runStage(acSelect, calib, { teacher: adapted }, { scratchDir: await tmp() }))
    expect(tf.memory().numTensors).toBe(before)
    expect(r).toMatchObject({ layer: 1, best: SHARP, images: 24 })
  })

  it("names the layer and the valid range when the layer is outside the teacher", async () => {
    const exit = await Effect.runPromiseExit(runStage(acSelectPretrained, { ...calib, layer: 2 }, { teacher }, { scratchDir: await tmp() }))
    expect(Exit.isFailure(exit) && String(exit.cause)).toContain(
      "stage paper/ac-select-pretrained: layer is 2; expected a block index in -2..1 (teacher mae (random init) has 2 blocks)",
    )
  })
})
