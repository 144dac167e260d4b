/**
 * `paper/adapt-teacher` (sec. 3.1) at smoke scale: vitMicroPatch7_28 (2
 * blocks, 4 heads), 64 synthetic-shapes images, 4 steps per epoch, wasm.
 * Partial-1 lowers the CE and leaves every parameter outside the head, the
 * last block and the final norm bit-identical to the input teacher; linear
 * changes the head only; full trains everything; the artifact round-trips
 * through its codec; an interrupted run resumes at epoch 2 and ends exactly
 * where an uninterrupted run ends; no tensor is left behind; bad settings
 * fail naming the field.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import * as tf from "@tensorflow/tfjs-core"
import { Effect, Exit } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { createVit, disposeVit } from "../../../../plugins/models/vit/model.ts"
import { adaptTeacher } from "../../../../plugins/stages/paper/adapt.ts"
import { AdaptedTeacher, type AdaptedTeacherValue } from "../../../../plugins/stages/paper/artifact.ts"
import { randomTeacher } from "../../../../plugins/stages/teachers/load.ts"
import { modelState, type TeacherWeightsValue } from "../../../../plugins/teachers/artifact.ts"
import { runStage, selectTestBackend, type StageRun } from "../../teachers/stageHarness.ts"

const tmp = () => fs.mkdtemp(path.join(os.tmpdir(), "ssl-kd-adapt-"))
const base = { dataset: "synthetic-shapes", trainCount: 64, batchSize: 16, epochs: 3, lr: 0.003, cropScaleMin: 0.5, seed: 5 }

let teacher: TeacherWeightsValue
beforeAll(async () => {
  await selectTestBackend()
  teacher = await Effect.runPromise(runStage(randomTeacher, { teacher: "dino", dataset: "synthetic-shapes", arch: "vitMicroPatch7_28", seed: 11 }, {}, { scratchDir: await tmp() }))
})

const adapt = async (config: Partial<typeof adaptTeacher.config.Encoded>, record?: StageRun) =>
  Effect.runPromise(runStage(adaptTeacher, { ...base, ...config }, { teacher }, { scratchDir: await tmp(), ...(record === undefined ? {} : { record }) }))

const same = (a: Float32Array | undefined, b: Float32Array | undefined) =>
  a !== undefined && b !== undefined && a.length === b.length && a.every((x, i) => Object.is(x, b[i]))

/** Parameter names whose values differ from the input teacher's (head: always "changed", it is new). */
const changed = (w: AdaptedTeacherValue) => [...w.state].filter(([name, t]) => !same(t.data, teacher.state.get(name)?.data)).map(([name]) => name)

describe("paper/adapt-teacher", () => {
  it("partial-1: lowers the loss, trains head + last block + final norm only, logs the count, leaks nothing", async () => {
    const record: StageRun = { logs: [], progress: [] }
    const before = tf.memory().numTensors
    const w = await adapt({ mode: "partial-1" }, record)
    expect(tf.memory().numTensors).toBe(before)
    const { epochs } = w.adaptation.losses
    expect(epochs).toHaveLength(3)
    expect(w.adaptation.losses.steps).toHaveLength(12)
    expect(epochs[2]).toBeLessThan(epochs[0] ?? NaN)
    const moved = changed(w)
    expect(moved.every((n) => n.startsWith("blocks.1.") || n.startsWith("norm.") || n.startsWith("head."))).toBe(true)
    expect(moved.filter((n) => n.startsWith("blocks.1."))).toHaveLength(12)
    expect(moved).toEqual(expect.arrayContaining(["norm.weight", "norm.bias", "head.weight", "head.bias"]))
    // micro ViT, 10 classes: block 12,704 + norm 64 + head 330 of 27,978 (grey input)
    expect(w.adaptation).toMatchObject({ mode: "partial-1", trainable: 13_098, total: 27_978, images: 64, epochs: 3, epochsRunHere: 3 })
    expect(record.logs[0]).toBe("dino (random init): partial-1 trains 13,098 of 27,978 parameters (46.82%) for 10 classes")
    expect(w.info.config.numClasses).toBe(10)
    expect(w.adaptation.classes).toHaveLength(10)
    expect(w.adaptation.trainAccuracy).toBeGreaterThanOrEqual(0)
    expect(w.adaptation.trainAccuracy).toBeLessThanOrEqual(1)
    const decoded = await Effect.runPromise(AdaptedTeacher.decode(new Map(AdaptedTeacher.encode(w).map((f) => [f.name, f.bytes]))))
    expect(decoded.adaptation).toEqual(w.adaptation)
    expect([...decoded.state.keys()]).toEqual([...w.state.keys()])
    expect(same(decoded.state.get("head.weight")?.data, w.state.get("head.weight")?.data)).toBe(true)
  })

  it("linear: changes the head only; the new head starts from the seed and moves", async () => {
    const w = await adapt({ mode: "linear", epochs: 1 })
    expect(changed(w)).toEqual(["head.weight", "head.bias"])
    expect(w.adaptation).toMatchObject({ mode: "linear", trainable: 330 })
    const fresh = createVit(teacher.info.arch, w.info.config, base.seed)
    const init = modelState(fresh)
    disposeVit(fresh)
    expect(same(w.state.get("head.weight")?.data, init.get("head.weight")?.data)).toBe(false)
  })

  it("full and partial-k: train what they name", async () => {
    const full = await adapt({ mode: "full", epochs: 1 })
    expect(full.adaptation).toMatchObject({ mode: "full", trainable: 27_978, total: 27_978 })
    expect(changed(full)).toEqual(expect.arrayContaining(["cls_token", "pos_embed", "patch_embed.proj.weight", "blocks.0.attn.qkv.weight"]))
    const k2 = await adapt({ mode: "partial-k", k: 2, epochs: 1 })
    expect(k2.adaptation.mode).toBe("partial-2")
    expect(changed(k2).some((n) => n.startsWith("blocks.0."))).toBe(true)
    expect(changed(k2).some((n) => n.startsWith("patch_embed") || n === "pos_embed" || n === "cls_token")).toBe(false)
  })

  it("resumes at epoch 2 after an interruption, ending exactly where an uninterrupted run ends", async () => {
    const full = await adapt({ mode: "partial-1" })
    const scratchDir = await tmp()
    const stop = (p: { note?: string }) => (p.note?.startsWith("epoch 2/") === true ? Effect.interrupt : Effect.void)
    const first: StageRun = { logs: [], progress: [] }
    const exit = await Effect.runPromiseExit(runStage(adaptTeacher, { ...base, mode: "partial-1" }, { teacher }, { scratchDir, onProgress: stop, record: first }))
    expect(Exit.isFailure(exit)).toBe(true)
    expect(first.logs.some((l) => l.startsWith("epoch 1/3"))).toBe(true)
    const before = tf.memory().numTensors
    const second: StageRun = { logs: [], progress: [] }
    const resumed = await Effect.runPromise(runStage(adaptTeacher, { ...base, mode: "partial-1" }, { teacher }, { scratchDir, record: second }))
    expect(tf.memory().numTensors).toBe(before)
    expect(second.logs[1]).toMatch(/^resuming at epoch 2 of 3/)
    expect(second.progress[0]?.done).toBe(5)
    expect(resumed.adaptation.epochsRunHere).toBe(2)
    expect(resumed.adaptation.losses).toEqual(full.adaptation.losses)
    expect(resumed.adaptation.trainAccuracy).toBe(full.adaptation.trainAccuracy)
    for (const [name, t] of full.state) expect(same(resumed.state.get(name)?.data, t.data), name).toBe(true)
  })

  it("names the field and what was expected for settings that do not fit the teacher or the data", async () => {
    const fails = async (config: Partial<typeof adaptTeacher.config.Encoded>) => {
      const exit = await Effect.runPromiseExit(runStage(adaptTeacher, { ...base, ...config }, { teacher }, { scratchDir: await tmp() }))
      return Exit.isFailure(exit) ? String(exit.cause) : "succeeded"
    }
    expect(await fails({ mode: "partial-k", k: 3 })).toContain("stage paper/adapt-teacher: k is 3; expected 1 <= k <= 2 (the depth of teacher dino (random init))")
    expect(await fails({ batchSize: 100 })).toContain("batchSize is 100; expected at most the 64 training images")
  })
})
