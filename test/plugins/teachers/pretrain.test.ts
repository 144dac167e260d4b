/**
 * Smoke runs of both pretraining stages (vitMicroPatch7_28, synthetic
 * shapes, a few steps, wasm backend): the loss goes down, no tensor is left
 * behind, the artifact holds every backbone parameter under timm names with
 * its loss curves; and resuming: a run interrupted after epoch 1 continues at
 * epoch 2 from the scratch checkpoint and ends with exactly the weights of an
 * uninterrupted run.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import * as tf from "@tensorflow/tfjs-core"
import { Effect, Exit } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { paramSpecs } from "../../../plugins/models/vit/params.ts"
import { pretrainDino } from "../../../plugins/teachers/dino/stage.ts"
import { pretrainMae } from "../../../plugins/teachers/mae/stage.ts"
import type { TeacherWeightsValue } from "../../../plugins/teachers/artifact.ts"
import { runStage, selectTestBackend, type StageRun } from "./stageHarness.ts"

beforeAll(selectTestBackend)

const tmp = () => fs.mkdtemp(path.join(os.tmpdir(), "ssl-kd-teachers-"))
const micro = { dataset: "synthetic-shapes", trainCount: 64, arch: "vitMicroPatch7_28", batchSize: 16, warmupEpochs: 0, seed: 3 }
const dino = {
  ...micro, epochs: 3, outDim: 64, headHiddenDim: 32, headBottleneckDim: 16, localCrops: 2, localSize: 14,
  freezeLastLayerEpochs: 0, teacherTemp: 0.02, warmupTeacherTemp: 0.02, centerMomentum: 0.99,
}
const mae = { ...micro, epochs: 3, lr: 0.005, decoderDim: 16, decoderDepth: 1, decoderHeads: 2 }

const checkArtifact = (w: TeacherWeightsValue, epochs: number) => {
  expect([...w.state.keys()]).toEqual(paramSpecs(w.info.config).map((s) => s.name))
  expect(w.info.config.inChans).toBe(1)
  expect(w.info.losses.epochs).toHaveLength(epochs)
  expect(w.info.losses.steps).toHaveLength(epochs * 4)
  expect(w.info.losses.steps.every(Number.isFinite)).toBe(true)
}

const sameWeights = (a: TeacherWeightsValue, b: TeacherWeightsValue) => {
  for (const [k, t] of a.state) expect(Array.from(b.state.get(k)?.data ?? []), k).toEqual(Array.from(t.data))
}

describe.each([
  { name: "DINO", stage: pretrainDino, config: dino, family: "contrastive" },
  { name: "DINO with a BatchNorm head", stage: pretrainDino, config: { ...dino, headUseBn: true }, family: "contrastive" },
  { name: "MAE", stage: pretrainMae, config: mae, family: "masked-image-modeling" },
])("$name pretraining stage", ({ stage, config, family }) => {
  it("lowers the loss over a few steps and leaks no tensor", async () => {
    const before = tf.memory().numTensors
    const w = await Effect.runPromise(runStage(stage, config, {}, { scratchDir: await tmp() }))
    expect(tf.memory().numTensors).toBe(before)
    checkArtifact(w, 3)
    expect(w.info.family).toBe(family)
    const [first = NaN] = w.info.losses.epochs
    const last = w.info.losses.epochs.at(-1) ?? NaN
    expect(last).toBeLessThan(first)
    expect(w.info.origin).toMatchObject({ kind: "pretrained", epochs: 3, epochsRunHere: 3, images: 64 })
  })

  it("resumes at epoch 2 after an interruption in epoch 2, ending where an uninterrupted run ends", async () => {
    const full = await Effect.runPromise(runStage(stage, config, {}, { scratchDir: await tmp() }))
    const scratchDir = await tmp()
    const first: StageRun = { logs: [], progress: [] }
    const stop = (p: { note?: string }) => (p.note?.startsWith("epoch 2/") === true ? Effect.interrupt : Effect.void)
    const exit = await Effect.runPromiseExit(runStage(stage, config, {}, { scratchDir, onProgress: stop, record: first }))
    expect(Exit.isFailure(exit)).toBe(true)
    expect(first.logs.some((l) => l.startsWith("epoch 1/3"))).toBe(true)
    const before = tf.memory().numTensors
    const second: StageRun = { logs: [], progress: [] }
    const resumed = await Effect.runPromise(runStage(stage, config, {}, { scratchDir, record: second }))
    expect(tf.memory().numTensors).toBe(before)
    expect(second.logs[0]).toMatch(/^resuming at epoch 2 of 3/)
    expect(second.progress[0]?.done).toBe(5) // first step of epoch 2 (4 steps per epoch)
    expect(resumed.info.origin).toMatchObject({ epochsRunHere: 2 })
    checkArtifact(resumed, 3)
    expect(resumed.info.losses).toEqual(full.info.losses)
    sameWeights(full, resumed)
  })
})
