/**
 * True one-stage `paper/joint-distill` (METHOD.md sec. 3.4; the `ours` arm),
 * wasm, on the tiny setup of `jointFixture.ts`: the teachers enter as
 * SSL-pretrained `TeacherWeights` (heads from `paper/ac-select-pretrained`).
 * Checked: each teacher's weights at step 0 (`startDigest`) are the
 * pretrained backbone, bit for bit, plus a fresh head drawn from its
 * `headSeed` (not the adapted teacher's weights, not the student's seed);
 * blocks before the last and the embeddings end as pretrained; each teacher
 * ends exactly where Partial-1 CE training alone from that start ends on the
 * same batches; the trained teachers come out through `paper/joint-teacher`
 * (typed error for an unknown role); a frozen pretrained teacher is refused;
 * the student's initialisation and batches do not depend on the teachers'
 * head seeds (with the KD weights 0 the student is bit-identical); nothing
 * leaks.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import * as tf from "@tensorflow/tfjs-core"
import { Effect, Exit } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import type { FloatTensor } from "../../../../plugins/checkpoints/timmFilter.ts"
import { createVit, disposeVit } from "../../../../plugins/models/vit/model.ts"
import { cosineSchedule } from "../../../../plugins/objectives/schedules.ts"
import { acSelectPretrained, type HeadSelectionValue } from "../../../../plugins/stages/paper/acSelect.ts"
import { adaptedModel } from "../../../../plugins/stages/paper/adapt.ts"
import { adaptStep, trainLoader } from "../../../../plugins/stages/paper/adaptStep.ts"
import { stateDigest } from "../../../../plugins/stages/paper/distillSetup.ts"
import { freshHeadSeed, type JointInputs, paperTeachers } from "../../../../plugins/stages/paper/joint.ts"
import { jointTeacher } from "../../../../plugins/stages/paper/jointTeacher.ts"
import { loadSplit } from "../../../../plugins/datasets/splits.ts"
import { modelState, type TeacherInfo } from "../../../../plugins/teachers/artifact.ts"
import { AdamW } from "../../../../plugins/training/adamw.ts"
import { adaptationParams } from "../../../../plugins/training/partial.ts"
import { runStage, selectTestBackend } from "../../teachers/stageHarness.ts"
import { type FixtureTeacher, fixtureBase, fixtureTeachers, runJoint } from "./jointFixture.ts"

const tmp = () => fs.mkdtemp(path.join(os.tmpdir(), "ssl-kd-one-stage-"))
const same = (a: Float32Array | undefined, b: Float32Array | undefined) =>
  a !== undefined && b !== undefined && a.length === b.length && a.every((x, i) => Object.is(x, b[i]))

let t: { dino: FixtureTeacher; mae: FixtureTeacher }
let heads: { dino: HeadSelectionValue; mae: HeadSelectionValue }
let inputs: JointInputs
let run: Awaited<ReturnType<typeof runJoint>>
let leaked = Number.NaN
const table = paperTeachers({ cl: "dino", mim: "mae", clHeads: "ac-dino", mimHeads: "ac-mae" })

beforeAll(async () => {
  await selectTestBackend()
  t = await fixtureTeachers()
  const select = async (w: FixtureTeacher) =>
    Effect.runPromise(runStage(acSelectPretrained, { dataset: fixtureBase.dataset, calibrationCount: 16, batchSize: 16 }, { teacher: w.pretrained }, { scratchDir: await tmp() }))
  heads = { dino: await select(t.dino), mae: await select(t.mae) }
  inputs = {
    pretrained: [{ item: "dino", value: t.dino.pretrained }, { item: "mae", value: t.mae.pretrained }],
    adapted: [],
    heads: [{ item: "ac-dino", value: heads.dino }, { item: "ac-mae", value: heads.mae }],
  }
  const before = tf.memory().numTensors
  run = await runJoint({ teachers: table }, inputs)
  leaked = tf.memory().numTensors - before
}, 180_000)

/** The pretrained teacher's backbone and a head built independently from `seed` for the task's 10 classes. */
const expectedStart = (w: FixtureTeacher, seed: number): ReadonlyMap<string, FloatTensor> => {
  const info = w.pretrained.info
  const fresh = createVit(info.arch, { ...info.config, numClasses: 10 }, seed)
  const head = new Map([...modelState(fresh)].filter(([n]) => n.startsWith("head.")))
  disposeVit(fresh)
  return new Map([...[...w.pretrained.state].filter(([n]) => !n.startsWith("head.")), ...head])
}

/** Partial-1 CE training alone from `start` on the stage's batches and schedule. */
const ceAlone = async (w: FixtureTeacher, seed: number): Promise<ReadonlyMap<string, FloatTensor>> => {
  const info: TeacherInfo = { ...w.pretrained.info, config: { ...w.pretrained.info.config, numClasses: 10 } }
  const model = await Effect.runPromise(adaptedModel(w.pretrained, info, seed))
  const params = adaptationParams(model, { kind: "partial", blocks: 1 }).params
  const { set } = await Effect.runPromise(loadSplit(fixtureBase.dataset, "train", fixtureBase.trainCount))
  const loader = await Effect.runPromise(trainLoader("test", set, info, { ...fixtureBase, flip: 0.5 }))
  const lr = cosineSchedule({ base: fixtureBase.lr, final: 0, epochs: fixtureBase.epochs, itersPerEpoch: loader.batchesPerEpoch })
  const optimizer = new AdamW(params)
  for (let e = 0; e < fixtureBase.epochs; e++) {
    for (let b = 0; b < loader.batchesPerEpoch; b++) adaptStep(model, params, optimizer, info, loader.batch(e, b), lr.at(e * loader.batchesPerEpoch + b), 0.05)
  }
  optimizer.dispose()
  const state = modelState(model)
  disposeVit(model)
  return state
}

describe("one-stage paper/joint-distill (ours)", () => {
  it("starts each teacher from its pretrained backbone with a fresh head from its own seed, not from the adapted teacher", () => {
    expect(leaked).toBe(0)
    const d = run.student.distillation
    for (const [i, [role, w]] of ([["cl", t.dino], ["mim", t.mae]] as const).entries()) {
      const record = d.teachers[i]!
      expect(record).toMatchObject({ role, start: "pretrained", headSeed: freshHeadSeed(fixtureBase.seed, i), mode: "partial-1" })
      const start = expectedStart(w, freshHeadSeed(fixtureBase.seed, i))
      expect(record.startDigest).toBe(stateDigest(start))
      expect(record.startDigest).not.toBe(stateDigest(w.adapted.state))
      expect(record.startDigest).not.toBe(stateDigest(expectedStart(w, fixtureBase.seed)))
      // the adapted teacher's last block moved away from the pretrained one: the start is not the warm one
      expect(same(w.adapted.state.get("blocks.1.mlp.fc2.weight")?.data, w.pretrained.state.get("blocks.1.mlp.fc2.weight")?.data)).toBe(false)
    }
    expect(run.student.info.origin).toMatchObject({ objective: "joint distillation (eq. 4), teachers from SSL-pretrained weights" })
  })

  it("trains each teacher's Partial-1 parameters here, exactly as CE alone from that start; the rest stays pretrained", async () => {
    for (const [i, [role, w]] of ([["cl", t.dino], ["mim", t.mae]] as const).entries()) {
      const after = run.teachers.get(role)!
      for (const [n, v] of w.pretrained.state) {
        if (n.startsWith("blocks.1.") || n.startsWith("norm.") || n.startsWith("head.")) continue
        expect(same(after.get(n)?.data, v.data), `${role} ${n}`).toBe(true)
      }
      const alone = await ceAlone(w, freshHeadSeed(fixtureBase.seed, i))
      for (const [n, v] of alone) expect(same(after.get(n)?.data, v.data), `${role} ${n}`).toBe(true)
    }
  }, 60_000)

  it("hands each trained teacher to paper/joint-teacher as an AdaptedTeacher; an unknown role is a typed error", async () => {
    const out = await Effect.runPromise(runStage(jointTeacher, { role: "mim" }, { model: run.student }, { scratchDir: await tmp() }))
    expect(out.adaptation).toMatchObject({ mode: "joint partial-1", seed: fixtureBase.seed, epochs: 2, classes: run.student.distillation.classes })
    expect(out.adaptation.trainAccuracy).toBeGreaterThanOrEqual(0)
    expect(out.info.config.numClasses).toBe(10)
    for (const [n, v] of run.teachers.get("mim")!) expect(same(out.state.get(n)?.data, v.data), n).toBe(true)
    const exit = await Effect.runPromiseExit(runStage(jointTeacher, { role: "ibot" }, { model: run.student }, { scratchDir: await tmp() }))
    expect(String(Exit.isFailure(exit) ? exit.cause : "succeeded")).toContain("a teacher the run trained: cl, mim")
  })

  it("refuses a frozen pretrained teacher (its fresh head would never train)", async () => {
    const frozen = table.map((r) => ({ ...r, mode: "frozen" as const }))
    await expect(runJoint({ teachers: frozen }, inputs)).rejects.toThrow(/cl\.mode/)
  })

  it("the student's init, batches and augmentation do not depend on the teachers' head seeds", async () => {
    const reseeded = table.map((r, i) => ({ ...r, headSeed: 1000 + i }))
    const [a, b] = [await runJoint({ teachers: table, kdWeight: 0, attentionWeight: 0 }, inputs), await runJoint({ teachers: reseeded, kdWeight: 0, attentionWeight: 0 }, inputs)]
    expect(b.student.distillation.teachers.map((x) => x.headSeed)).toEqual([1000, 1001])
    expect(stateDigest(a.student.state)).toBe(stateDigest(b.student.state))
    expect(stateDigest(a.teachers.get("cl")!)).not.toBe(stateDigest(b.teachers.get("cl")!))
  }, 60_000)
})
