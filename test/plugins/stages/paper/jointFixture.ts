/**
 * The tiny two-teacher setup the joint-distill bit-identity fixture
 * (`test/fixtures/joint/two-teacher.json`) was recorded on, and the digest
 * it records: two micro teachers (random init, `paper/adapt-teacher`
 * Partial-1 for one epoch, heads by `paper/ac-select`), a vitMicroPatch7_28
 * student, 48 synthetic-shapes images, 3 steps per epoch, 2 epochs, seed 7.
 * Deterministic on one backend (wasm by default, `SSL_KD_BACKEND`).
 */
import { createHash } from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { Effect, Layer, Schema } from "effect"
import { StageContext } from "../../../../dsl/index.ts"
import { TensorBackend } from "../../../../runtime/backend/TensorBackend.ts"
import type { FloatTensor } from "../../../../plugins/checkpoints/timmFilter.ts"
import { acSelect, type HeadSelectionValue } from "../../../../plugins/stages/paper/acSelect.ts"
import { adaptTeacher } from "../../../../plugins/stages/paper/adapt.ts"
import type { AdaptedTeacherValue } from "../../../../plugins/stages/paper/artifact.ts"
import type { DistilledStudentValue } from "../../../../plugins/stages/paper/distilledArtifact.ts"
import { type JointInputs, JointConfig, paperTeachers, runJointDistill } from "../../../../plugins/stages/paper/joint.ts"
import { randomTeacher } from "../../../../plugins/stages/teachers/load.ts"
import type { TeacherWeightsValue } from "../../../../plugins/teachers/artifact.ts"
import { runStage } from "../../teachers/stageHarness.ts"

export const fixtureBase = { dataset: "synthetic-shapes", trainCount: 48, batchSize: 16, epochs: 2, lr: 0.003, cropScaleMin: 0.5, seed: 7 }

/** The recorded cases: the paper's defaults, and both attention terms live with l1 != 0.5. */
export const fixtureCases = { paper: {}, mixed: { lambda1: 0.7, lambda2: 0.5 } } as const

const tmp = () => fs.mkdtemp(path.join(os.tmpdir(), "ssl-kd-joint-fixture-"))

export interface FixtureTeacher {
  readonly pretrained: TeacherWeightsValue
  readonly adapted: AdaptedTeacherValue
  readonly heads: HeadSelectionValue
}

/** One teacher: random init (seed), Partial-1 for one epoch, AC selection on the adapted teacher. */
export const fixtureTeacher = async (name: string, seed: number): Promise<FixtureTeacher> => {
  const pretrained = await Effect.runPromise(runStage(randomTeacher, { teacher: name, dataset: fixtureBase.dataset, arch: "vitMicroPatch7_28", seed }, {}, { scratchDir: await tmp() }))
  const adapted = await Effect.runPromise(runStage(adaptTeacher, { ...fixtureBase, epochs: 1, seed }, { teacher: pretrained }, { scratchDir: await tmp() }))
  const heads = await Effect.runPromise(runStage(acSelect, { dataset: fixtureBase.dataset, calibrationCount: 16, batchSize: 16 }, { teacher: adapted }, { scratchDir: await tmp() }))
  return { pretrained, adapted, heads }
}

/** The fixture's two teachers: `dino` (seed 1) and `mae` (seed 2). */
export const fixtureTeachers = async () => ({ dino: await fixtureTeacher("dino", 1), mae: await fixtureTeacher("mae", 2) })

/** sha256 over every tensor of a state, in name order: names, shapes and float32 bytes. */
export const stateDigest = (state: ReadonlyMap<string, FloatTensor>): string => {
  const hash = createHash("sha256")
  for (const name of [...state.keys()].sort()) {
    const t = state.get(name)!
    hash.update(`${name}[${t.shape.join(",")}]\u0000`).update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength))
  }
  return hash.digest("hex")
}

/** What the fixture keeps of one run: weights digests, every step's loss, every component's epoch means, a few head weights. */
export const runDigest = (student: DistilledStudentValue, teachers: ReadonlyArray<ReadonlyMap<string, FloatTensor>>) => ({
  student: stateDigest(student.state),
  teachers: teachers.map(stateDigest),
  steps: [...student.distillation.losses.steps],
  components: student.distillation.components,
  headWeight: Array.from(student.state.get("head.weight")?.data.subarray(0, 4) ?? []),
})
export type RunDigest = ReturnType<typeof runDigest>

/** The fixture's teachers as the joint stage's inputs: adapted `dino-partial-1`, `mae-partial-1`, selections `ac-dino`, `ac-mae` (ours-warm's wiring). */
export const warmInputs = (t: { readonly dino: FixtureTeacher; readonly mae: FixtureTeacher }): JointInputs => ({
  pretrained: [],
  adapted: [{ item: "dino-partial-1", value: t.dino.adapted }, { item: "mae-partial-1", value: t.mae.adapted }],
  heads: [{ item: "ac-dino", value: t.dino.heads }, { item: "ac-mae", value: t.mae.heads }],
})

/** The paper's two-teacher table on `warmInputs`. */
export const warmTable = paperTeachers({ cl: "dino-partial-1", mim: "mae-partial-1", clHeads: "ac-dino", mimHeads: "ac-mae" })

/** `runJointDistill` with `config` over the fixture's recipe, in a fresh scratch folder. */
export const runJoint = async (config: Partial<typeof JointConfig.Encoded>, inputs: JointInputs) => {
  const scratchDir = await tmp()
  const ctx = StageContext.of({ node: "fixture", key: "fixture", scratchDir, progress: () => Effect.void, log: () => Effect.void })
  return Effect.runPromise(
    Effect.gen(function* () {
      const c = yield* Schema.decodeUnknownEffect(JointConfig)({ ...fixtureBase, ...config })
      return yield* runJointDistill(c, inputs)
    }).pipe(Effect.provideService(StageContext, ctx), Effect.provide(Layer.fresh(TensorBackend.layer({ flag: process.env.SSL_KD_BACKEND ?? "wasm" })))),
  )
}
