/**
 * `paper/joint-distill` (sec. 3.4, eq. 4) at smoke scale, wasm, with the
 * paper's two-row teacher table over adapted teachers (the `ours-warm`
 * wiring): a vitMicroPatch7_28 student (2 blocks, 4 heads) from two micro
 * teachers (random init, Partial-1 adapted for one epoch by
 * `paper/adapt-teacher`, heads chosen by `paper/ac-select`), 48 synthetic-shapes images, 3 steps
 * per epoch, 2 epochs. Checked: the total loss goes down; every component of
 * eq. 4 (and the parts of eq. 1 and eq. 3) is logged every step and kept per
 * epoch, finite; teacher parameters outside head, last block and final norm
 * stay bit-identical; each teacher ends exactly where Partial-1 CE training
 * alone on the same batches ends (the KD terms send it no gradient); with
 * the KD weights 0 the student ends exactly where plain CE training ends (the
 * KD terms are the only coupling); a patch-size mismatch fails naming both
 * models; an interrupted run resumes to the same result; nothing leaks; the
 * record names both teachers (method `joint`) and a record of the earlier
 * two-teacher form fails to decode with `ArtifactDecodeError`.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import * as tf from "@tensorflow/tfjs-core"
import { Effect, Exit, Layer, Schema } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { StageContext } from "../../../../dsl/index.ts"
import { TensorBackend } from "../../../../runtime/backend/TensorBackend.ts"
import type { FloatTensor } from "../../../../plugins/checkpoints/timmFilter.ts"
import { vitMicroPatch7_28 } from "../../../../plugins/models/variants.ts"
import { createVit, disposeVit, type VitModel } from "../../../../plugins/models/vit/model.ts"
import { cosineSchedule } from "../../../../plugins/objectives/schedules.ts"
import { acSelect, type HeadSelectionValue } from "../../../../plugins/stages/paper/acSelect.ts"
import { adaptTeacher } from "../../../../plugins/stages/paper/adapt.ts"
import { adaptStep, trainLoader } from "../../../../plugins/stages/paper/adaptStep.ts"
import type { AdaptedTeacherValue } from "../../../../plugins/stages/paper/artifact.ts"
import { type JointInputs, JointConfig, jointDistill, paperTeachers, runJointDistill } from "../../../../plugins/stages/paper/joint.ts"
import { DistilledStudent } from "../../../../plugins/stages/paper/distilledArtifact.ts"
import { studentInfo } from "../../../../plugins/stages/paper/distillSetup.ts"
import { loadSplit } from "../../../../plugins/datasets/splits.ts"
import { randomTeacher } from "../../../../plugins/stages/teachers/load.ts"
import { modelFromWeights, modelState, type TeacherInfo } from "../../../../plugins/teachers/artifact.ts"
import { AdamW } from "../../../../plugins/training/adamw.ts"
import { adaptationParams } from "../../../../plugins/training/partial.ts"
import { runStage, selectTestBackend, type StageRun } from "../../teachers/stageHarness.ts"

const tmp = () => fs.mkdtemp(path.join(os.tmpdir(), "ssl-kd-distill-"))
const base = { dataset: "synthetic-shapes", trainCount: 48, batchSize: 16, epochs: 2, lr: 0.003, cropScaleMin: 0.5, seed: 7 }
const COMPONENTS = ["total", "ce/student", "ce/cl", "ce/mim", "kd-output", "kd-output/cl", "kd-output/mim", "kd-attention", "kd-attention/mim"]

/** `runJointDistill` (the stage's work + the teachers' final weights) in a fresh scratch folder, as the harness runs a stage. */
const table = paperTeachers({ cl: "dino-partial-1", mim: "mae-partial-1", clHeads: "ac-dino", mimHeads: "ac-mae" })
const withTable = { ...base, teachers: table }

const runCore = async (config: Partial<typeof JointConfig.Encoded>, record: StageRun = { logs: [], progress: [] }) => {
  const scratchDir = await tmp()
  const ctx = StageContext.of({
    node: "test", key: "test", scratchDir,
    progress: (p) => Effect.sync(() => void record.progress.push(p)),
    log: (m) => Effect.sync(() => void record.logs.push(m)),
  })
  return Effect.runPromise(Effect.gen(function* () {
    const c = yield* Schema.decodeUnknownEffect(JointConfig)({ ...withTable, ...config })
    return yield* runJointDistill(c, inputs)
  }).pipe(Effect.provideService(StageContext, ctx), Effect.provide(Layer.fresh(TensorBackend.layer({ flag: process.env.SSL_KD_BACKEND ?? "wasm" })))))
}

const same = (a: Float32Array | undefined, b: Float32Array | undefined) =>
  a !== undefined && b !== undefined && a.length === b.length && a.every((x, i) => Object.is(x, b[i]))

/** Trains `model`'s `params` with CE alone (`adaptStep`) on the stage's batches and schedule; returns its weights. */
const ceAlone = async (model: VitModel, params: ReadonlyMap<string, tf.Variable>, info: TeacherInfo): Promise<ReadonlyMap<string, FloatTensor>> => {
  const { set } = await Effect.runPromise(loadSplit(base.dataset, "train", base.trainCount))
  const loader = await Effect.runPromise(trainLoader("test", set, info, { ...base, flip: 0.5 }))
  const lr = cosineSchedule({ base: base.lr, final: 0, epochs: base.epochs, itersPerEpoch: loader.batchesPerEpoch })
  const optimizer = new AdamW(params)
  for (let e = 0; e < base.epochs; e++) {
    for (let b = 0; b < loader.batchesPerEpoch; b++) adaptStep(model, params, optimizer, info, loader.batch(e, b), lr.at(e * loader.batchesPerEpoch + b), 0.05)
  }
  optimizer.dispose()
  const state = modelState(model)
  disposeVit(model)
  return state
}

let inputs: JointInputs
let adapted: { readonly cl: AdaptedTeacherValue; readonly mim: AdaptedTeacherValue }
let selections: { readonly cl: HeadSelectionValue; readonly mim: HeadSelectionValue }
let full: Awaited<ReturnType<typeof runCore>>
const record: StageRun = { logs: [], progress: [] }
let leaked = Number.NaN

beforeAll(async () => {
  await selectTestBackend()
  const teacher = async (name: string, seed: number): Promise<[AdaptedTeacherValue, HeadSelectionValue]> => {
    const random = await Effect.runPromise(runStage(randomTeacher, { teacher: name, dataset: base.dataset, arch: "vitMicroPatch7_28", seed }, {}, { scratchDir: await tmp() }))
    const adapted = await Effect.runPromise(runStage(adaptTeacher, { ...base, epochs: 1, seed }, { teacher: random }, { scratchDir: await tmp() }))
    const heads = await Effect.runPromise(runStage(acSelect, { dataset: base.dataset, calibrationCount: 16, batchSize: 16 }, { teacher: adapted }, { scratchDir: await tmp() }))
    return [adapted, heads]
  }
  const [[cl, clHeads], [mim, mimHeads]] = [await teacher("dino", 1), await teacher("mae", 2)]
  adapted = { cl, mim }
  selections = { cl: clHeads, mim: mimHeads }
  inputs = { pretrained: [], adapted: [{ item: "dino-partial-1", value: cl }, { item: "mae-partial-1", value: mim }], heads: [{ item: "ac-dino", value: clHeads }, { item: "ac-mae", value: mimHeads }] }
  const before = tf.memory().numTensors
  full = await runCore({}, record)
  leaked = tf.memory().numTensors - before
}, 120_000)

describe("paper/joint-distill", () => {
  it("lowers the total loss, logs every eq. 4 component each step and per epoch, finite, and leaks nothing", async () => {
    expect(leaked).toBe(0)
    const d = full.student.distillation
    expect(d.losses.steps).toHaveLength(6)
    expect(d.losses.epochs[1]).toBeLessThan(d.losses.epochs[0] ?? NaN)
    expect(Object.keys(d.components)).toEqual(COMPONENTS)
    for (const [name, curve] of Object.entries(d.components)) {
      expect(curve, name).toHaveLength(2)
      expect(curve.every(Number.isFinite), name).toBe(true)
    }
    expect(d.components.total).toEqual(d.losses.epochs.map((x) => Math.fround(x)))
    // 6 training steps, then each trained teacher's train top-1, batch by batch (48 images, batch 16).
    const training = record.progress.filter((p) => p.note?.startsWith("epoch") === true)
    expect(training).toHaveLength(6)
    for (const p of training) for (const n of COMPONENTS.slice(1)) expect(p.note).toMatch(new RegExp(`${n} -?\\d+\\.\\d{4}`))
    expect(record.progress.slice(6).map((p) => `${p.note} ${p.done}/${p.total}`)).toEqual(
      ["cl", "mim"].flatMap((role) => [1, 2, 3].map((b) => `train top-1 of the ${role} teacher ${b}/3`)),
    )
    expect(d).toMatchObject({ method: "joint", epochs: 2, epochsRunHere: 2, images: 48, studentLayer: 1 })
    expect(d.teachers).toMatchObject([
      { role: "cl", teacher: adapted.cl.info.teacher, mode: "partial-1", trainable: 13_098, layer: 1, head: selections.cl.best, start: "adapted", lambda: 0.5, attentionWeight: 0, studentHead: 0 },
      { role: "mim", teacher: adapted.mim.info.teacher, mode: "partial-1", trainable: 13_098, layer: 1, head: selections.mim.best, start: "adapted", lambda: 0.5, attentionWeight: 1, studentHead: 1 },
    ])
    expect(full.student.trainedTeachers?.map((t) => [t.role, t.value.adaptation.mode])).toEqual([["cl", "joint partial-1"], ["mim", "joint partial-1"]])
    expect(full.student.info.origin).toMatchObject({ kind: "pretrained", objective: "joint distillation (eq. 4)", stage: "paper/joint-distill" })
    expect(d.terms.find((t) => t.name === "kd-attention")?.weight).toBe(1)
    const decoded = await Effect.runPromise(DistilledStudent.decode(new Map(DistilledStudent.encode(full.student).map((f) => [f.name, f.bytes]))))
    expect(decoded.distillation).toEqual(d)
    expect(decoded.trainedTeachers?.map((t) => t.role)).toEqual(["cl", "mim"])
    expect(same(decoded.trainedTeachers?.[1]?.value.state.get("head.weight")?.data, full.teachers.get("mim")?.get("head.weight")?.data)).toBe(true)
    expect(same(decoded.state.get("head.weight")?.data, full.student.state.get("head.weight")?.data)).toBe(true)
  })

  it("refuses a distillation.json of the earlier two-teacher form, or with a teacher count its method does not have, with ArtifactDecodeError", async () => {
    const files = new Map(DistilledStudent.encode(full.student).map((f) => [f.name, f.bytes]))
    const record = JSON.parse(new TextDecoder().decode(files.get("distillation.json"))) as Record<string, unknown>
    const { method: _m, teachers, studentLayer: _l, ...rest } = record
    const [cl, mim] = teachers as Array<Record<string, unknown>>
    const legacy = { ...rest, studentLayer: 1, cl, mim }
    const decodeWith = (value: unknown) =>
      Effect.runPromiseExit(DistilledStudent.decode(new Map([...files, ["distillation.json", new TextEncoder().encode(JSON.stringify(value))]])))
    const old = await decodeWith(legacy)
    expect(Exit.isFailure(old)).toBe(true)
    const text = String(Exit.isFailure(old) ? old.cause : "")
    expect(text).toContain("ArtifactDecodeError")
    expect(text).toContain("distillation.json")
    const wrongCount = await decodeWith({ ...record, method: "kd-single" })
    expect(String(Exit.isFailure(wrongCount) ? wrongCount.cause : "decoded")).toContain("method kd-single has 2 teachers, expected 1")
  })

  it("trains each teacher's head, last block and final norm only, exactly as its own CE alone would", async () => {
    for (const role of ["cl", "mim"] as const) {
      const input = adapted[role]
      const after = full.teachers.get(role) ?? new Map()
      const moved = [...after].filter(([n, t]) => !same(t.data, input.state.get(n)?.data)).map(([n]) => n)
      expect(moved.length).toBeGreaterThan(10)
      expect(moved.every((n) => n.startsWith("blocks.1.") || n.startsWith("norm.") || n.startsWith("head.")), role).toBe(true)
      const model = await Effect.runPromise(modelFromWeights(input))
      const alone = await ceAlone(model, adaptationParams(model, { kind: "partial", blocks: 1 }).params, input.info)
      for (const [n, t] of alone) expect(same(after.get(n)?.data, t.data), `${role} ${n}`).toBe(true)
    }
  })

  it("with the KD weights 0, the student ends exactly where plain CE training of it ends", async () => {
    const r = await runCore({ kdWeight: 0, attentionWeight: 0 })
    expect(Object.keys(r.student.distillation.components)).toEqual(["total", "ce/student", "ce/cl", "ce/mim"])
    const { spec } = await Effect.runPromise(loadSplit(base.dataset, "train", base.trainCount))
    const config = { ...vitMicroPatch7_28, inChans: 1, numClasses: 10 }
    const model = createVit("vitMicroPatch7_28", config, base.seed)
    const plain = await ceAlone(model, model.params, studentInfo("vitMicroPatch7_28", config, spec.normalization, base.seed))
    for (const [n, t] of plain) expect(same(r.student.state.get(n)?.data, t.data), n).toBe(true)
    expect(same(r.student.state.get("head.weight")?.data, full.student.state.get("head.weight")?.data)).toBe(false)
  })

  it("fails naming both models when a teacher's token count differs from the student's", async () => {
    const info = adapted.mim.info
    const mim = { ...adapted.mim, info: { ...info, arch: "vitMicroPatch4_28", config: { ...info.config, patchSize: 4 } } }
    const exit = await Effect.runPromiseExit(runStage(jointDistill, withTable, { ...inputs, adapted: [{ item: "dino-partial-1", value: adapted.cl }, { item: "mae-partial-1", value: mim }] }, { scratchDir: await tmp() }))
    expect(Exit.isFailure(exit)).toBe(true)
    const text = String(Exit.isFailure(exit) ? exit.cause : "")
    expect(text).toContain("DistillTokenMismatch")
    expect(text).toContain(`mim teacher ${info.teacher} sees 50 tokens (28 px, patch 4) but student vitMicroPatch7_28 sees 17 (28 px, patch 7)`)
  })

  it("refuses a head selection made on another teacher, naming the field", async () => {
    const crossed = table.map((r) => (r.role === "mim" && r.attention !== undefined ? { ...r, attention: { ...r.attention, heads: "ac-dino" } } : r))
    const exit = await Effect.runPromiseExit(runStage(jointDistill, { ...withTable, teachers: crossed }, inputs, { scratchDir: await tmp() }))
    const text = String(Exit.isFailure(exit) ? exit.cause : "succeeded")
    expect(text).toContain(`mimHeads.teacher is "${adapted.cl.info.teacher}"; expected the mim teacher's name, ${adapted.mim.info.teacher}`)
  })

  it("resumes after an interruption in epoch 2 and ends exactly where the uninterrupted run ends", async () => {
    const scratchDir = await tmp()
    const stop = (p: { note?: string }) => (p.note?.startsWith("epoch 2/") === true ? Effect.interrupt : Effect.void)
    const exit = await Effect.runPromiseExit(runStage(jointDistill, withTable, inputs, { scratchDir, onProgress: stop }))
    expect(Exit.isFailure(exit)).toBe(true)
    const before = tf.memory().numTensors
    const second: StageRun = { logs: [], progress: [] }
    const resumed = await Effect.runPromise(runStage(jointDistill, withTable, inputs, { scratchDir, record: second }))
    expect(tf.memory().numTensors).toBe(before)
    expect(second.logs.some((l) => l.startsWith("resuming at epoch 2 of 2"))).toBe(true)
    expect(resumed.distillation.epochsRunHere).toBe(1)
    expect(resumed.distillation.components).toEqual(full.student.distillation.components)
    expect(resumed.distillation.losses).toEqual(full.student.distillation.losses)
    for (const [n, t] of full.student.state) expect(same(resumed.state.get(n)?.data, t.data), n).toBe(true)
  })
})
