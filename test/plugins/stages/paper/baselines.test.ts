/**
 * The Table 2 baselines at smoke scale, wasm, on the joint-distill test's
 * recipe (vitMicroPatch7_28 student, 48 synthetic-shapes images, 3 steps per
 * epoch, 2 epochs):
 *
 * - `paper/train-student` ends exactly where plain CE training of the student
 *   (`adaptStep` on the stage's batches and schedule) ends, records method
 *   `student-alone` with no teacher, and leaks nothing;
 * - `paper/kd-single` (frozen, adapted micro teacher): its first step's
 *   `kd-output/teacher` equals an independent float64 KL between the
 *   teacher's and the initial student's softmax on the first batch; with
 *   l1 = 0 it ends bit-identical to train-student (same seed); with l1 > 0
 *   it differs; the record names the teacher (frozen, 0 trainable, no
 *   attention map); a teacher adapted to other classes is refused, naming the
 *   field; nothing leaks.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import * as tf from "@tensorflow/tfjs-core"
import { Effect, Exit } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import type { FloatTensor } from "../../../../plugins/checkpoints/timmFilter.ts"
import { vitMicroPatch7_28 } from "../../../../plugins/models/variants.ts"
import { forward } from "../../../../plugins/models/vit/forward.ts"
import { createVit, disposeVit } from "../../../../plugins/models/vit/model.ts"
import { cosineSchedule } from "../../../../plugins/objectives/schedules.ts"
import { adaptTeacher } from "../../../../plugins/stages/paper/adapt.ts"
import { adaptStep, trainLoader } from "../../../../plugins/stages/paper/adaptStep.ts"
import type { AdaptedTeacherValue } from "../../../../plugins/stages/paper/artifact.ts"
import { kdSingle, kdSingleLossTerms, trainStudent } from "../../../../plugins/stages/paper/baselines.ts"
import { DistilledStudent, type DistilledStudentValue } from "../../../../plugins/stages/paper/distilledArtifact.ts"
import { studentInfo } from "../../../../plugins/stages/paper/distillSetup.ts"
import { teacherInput } from "../../../../plugins/teachers/inputs.ts"
import { loadSplit } from "../../../../plugins/datasets/splits.ts"
import { randomTeacher } from "../../../../plugins/stages/teachers/load.ts"
import { modelFromWeights, modelState } from "../../../../plugins/teachers/artifact.ts"
import { AdamW } from "../../../../plugins/training/adamw.ts"
import { softKl64 } from "../../losses/reference.ts"
import { stateDigest } from "../../../../plugins/stages/paper/distillSetup.ts"
import { runStage, selectTestBackend, type StageRun } from "../../teachers/stageHarness.ts"

const tmp = () => fs.mkdtemp(path.join(os.tmpdir(), "ssl-kd-baselines-"))
const base = { dataset: "synthetic-shapes", trainCount: 48, batchSize: 16, epochs: 2, lr: 0.003, cropScaleMin: 0.5, seed: 7 }

const same = (a: Float32Array | undefined, b: Float32Array | undefined) =>
  a !== undefined && b !== undefined && a.length === b.length && a.every((x, i) => Object.is(x, b[i]))
const sameState = (a: ReadonlyMap<string, FloatTensor>, b: ReadonlyMap<string, FloatTensor>) =>
  a.size === b.size && [...a].every(([n, t]) => same(t.data, b.get(n)?.data))

const rows = (t: tf.Tensor): Array<Array<number>> => t.arraySync() as Array<Array<number>>

let teacher: AdaptedTeacherValue
let alone: DistilledStudentValue
let kd: DistilledStudentValue
const kdRecord: StageRun = { logs: [], progress: [] }
const leaked = { alone: Number.NaN, kd: Number.NaN }

beforeAll(async () => {
  await selectTestBackend()
  const random = await Effect.runPromise(runStage(randomTeacher, { teacher: "dino", dataset: base.dataset, arch: "vitMicroPatch7_28", seed: 1 }, {}, { scratchDir: await tmp() }))
  teacher = await Effect.runPromise(runStage(adaptTeacher, { ...base, epochs: 1, seed: 1 }, { teacher: random }, { scratchDir: await tmp() }))
  let before = tf.memory().numTensors
  alone = await Effect.runPromise(runStage(trainStudent, base, {}, { scratchDir: await tmp() }))
  leaked.alone = tf.memory().numTensors - before
  before = tf.memory().numTensors
  kd = await Effect.runPromise(runStage(kdSingle, base, { teacher }, { scratchDir: await tmp(), record: kdRecord }))
  leaked.kd = tf.memory().numTensors - before
}, 120_000)

describe("paper/train-student", () => {
  it("ends exactly where plain CE training of the student on the same batches and schedule ends, and leaks nothing", async () => {
    expect(leaked.alone).toBe(0)
    const { spec, set } = await Effect.runPromise(loadSplit(base.dataset, "train", base.trainCount))
    const config = { ...vitMicroPatch7_28, inChans: 1, numClasses: 10 }
    const info = studentInfo("vitMicroPatch7_28", config, spec.normalization, base.seed)
    const model = createVit("vitMicroPatch7_28", config, base.seed)
    const loader = await Effect.runPromise(trainLoader("test", set, info, { ...base, flip: 0.5 }))
    const lr = cosineSchedule({ base: base.lr, final: 0, epochs: base.epochs, itersPerEpoch: loader.batchesPerEpoch })
    const optimizer = new AdamW(model.params)
    for (let e = 0; e < base.epochs; e++) {
      for (let b = 0; b < loader.batchesPerEpoch; b++) adaptStep(model, model.params, optimizer, info, loader.batch(e, b), lr.at(e * loader.batchesPerEpoch + b), 0.05)
    }
    optimizer.dispose()
    const plain = modelState(model)
    disposeVit(model)
    expect(sameState(alone.state, plain)).toBe(true)
  })

  it("records the student-alone method, no teacher, only the student's CE, and decodes back", async () => {
    const d = alone.distillation
    expect(d).toMatchObject({ method: "student-alone", teachers: [], dataset: "synthetic-shapes", images: 48, epochs: 2, seed: 7 })
    expect(d.studentLayer).toBeUndefined()
    expect(Object.keys(d.components)).toEqual(["total", "ce/student"])
    expect(d.components.total).toEqual(d.components["ce/student"])
    expect(d.losses.epochs[1]).toBeLessThan(d.losses.epochs[0] ?? NaN)
    expect(alone.info.origin).toMatchObject({ kind: "pretrained", stage: "paper/train-student", objective: "student alone (CE, no KD)" })
    const decoded = await Effect.runPromise(DistilledStudent.decode(new Map(DistilledStudent.encode(alone).map((f) => [f.name, f.bytes]))))
    expect(decoded.distillation).toEqual(d)
  })
})

describe("paper/kd-single", () => {
  it("logs the KD term of its first step as an independent float64 KL(teacher || initial student), and leaks nothing", async () => {
    expect(leaked.kd).toBe(0)
    const first = kdRecord.progress[0]?.note ?? ""
    const logged = Number(/kd-output\/teacher (-?\d+\.\d{4})/.exec(first)?.[1])
    const { spec, set } = await Effect.runPromise(loadSplit(base.dataset, "train", base.trainCount))
    const config = { ...vitMicroPatch7_28, inChans: 1, numClasses: 10 }
    const info = studentInfo("vitMicroPatch7_28", config, spec.normalization, base.seed)
    const loader = await Effect.runPromise(trainLoader("test", set, info, { ...base, flip: 0.5 }))
    const batch = loader.batch(0, 0)
    const student = createVit("vitMicroPatch7_28", config, base.seed)
    const t = await Effect.runPromise(modelFromWeights(teacher))
    const [s, z] = tf.tidy(() => [rows(forward(student, teacherInput(batch.images, info))), rows(forward(t, teacherInput(batch.images, teacher.info)))])
    disposeVit(student)
    disposeVit(t)
    expect(Number.isFinite(logged)).toBe(true)
    expect(Math.abs(logged - softKl64(s, z))).toBeLessThanOrEqual(6e-5)
  })

  it("records the frozen teacher (0 trainable, no attention map) and the CE + KD components", () => {
    const d = kd.distillation
    expect(d.method).toBe("kd-single")
    const { startDigest, ...rest } = d.teachers[0] ?? {}
    expect(d.teachers).toHaveLength(1)
    expect(rest).toEqual({ role: "teacher", teacher: teacher.info.teacher, mode: "frozen", trainable: 0, start: "adapted" })
    expect(startDigest).toBe(stateDigest(teacher.state))
    expect(Object.keys(d.components)).toEqual(["total", "ce/student", "kd-output", "kd-output/teacher"])
    expect(d.terms).toEqual([{ name: "ce/student", key: "ce", weight: 1 }, { name: "kd-output", key: "kd-output", weight: 1 }])
    expect(kd.info.origin).toMatchObject({ stage: "paper/kd-single", objective: `single-teacher KD (eq. 1) from ${teacher.info.teacher}` })
    expect(sameState(kd.state, alone.state)).toBe(false)
  })

  it("with l1 = 0 ends bit-identical to paper/train-student with the same seed", async () => {
    const r = await Effect.runPromise(runStage(kdSingle, { ...base, losses: kdSingleLossTerms({ l1: 0 }) }, { teacher }, { scratchDir: await tmp() }))
    expect(Object.keys(r.distillation.components)).toEqual(["total", "ce/student"])
    expect(sameState(r.state, alone.state)).toBe(true)
    expect(r.distillation.losses).toEqual(alone.distillation.losses)
  })

  it("refuses a teacher adapted to other classes, naming the field and the classes expected", async () => {
    const other = { ...teacher, adaptation: { ...teacher.adaptation, classes: ["one", "two", "three", "four", "five"] } }
    const exit = await Effect.runPromiseExit(runStage(kdSingle, base, { teacher: other }, { scratchDir: await tmp() }))
    expect(Exit.isFailure(exit)).toBe(true)
    expect(String(Exit.isFailure(exit) ? exit.cause : "")).toContain('stage paper/kd-single: teacher is ["one","two","three","four","five"]; expected a teacher adapted to the classes of synthetic-shapes')
  })
})
