/**
 * The `DistilledStudent` artifact: a student ViT trained by the paper's
 * one-stage joint distillation (sec. 3.4, eq. 4). It is a `TeacherWeights`
 * value (student weights under timm names, with its classification head;
 * `modelFromWeights`, `top1` and the evaluate stages read it as they read a
 * teacher) plus the record of the run (`distillation.json`): the teachers and
 * AC-selected heads used, the loss terms, the per-epoch mean of every logged
 * loss component (eq. 1, 3, 4 parts), and the time. Files: `teacher.json`,
 * `weights.safetensors`, `distillation.json`.
 */
import { Effect, Schema } from "effect"
import { Artifact } from "../../../dsl/index.ts"
import { LossCurves, TeacherWeights, type TeacherWeightsValue } from "../../teachers/artifact.ts"

const Count = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

/** One teacher of the joint run: who, how it kept training, which map eq. 3 read. */
export const DistillTeacherInfo = Schema.Struct({
  teacher: Schema.String,
  /** `partial-1` (eq. 4: the teacher trains its head + last block on its CE) or `frozen`. */
  mode: Schema.String,
  trainable: Count,
  /** Distilled block and the head chosen by Attention Confidence (eq. 2). */
  layer: Count,
  head: Count,
})

/** How the student was distilled. */
export const DistillationInfo = Schema.Struct({
  dataset: Schema.String,
  classes: Schema.Array(Schema.String),
  images: Count,
  epochs: Count,
  epochsRunHere: Count,
  batchSize: Count,
  lr: Schema.Finite,
  weightDecay: Schema.Finite,
  seed: Schema.Int,
  /** The student's distilled block (A1_S, A2_S of eq. 3 come from its heads). */
  studentLayer: Count,
  cl: DistillTeacherInfo,
  mim: DistillTeacherInfo,
  /** The composed loss's terms (weight 0: skipped). */
  terms: Schema.Array(Schema.Struct({ name: Schema.String, key: Schema.String, weight: Schema.Finite })),
  /** Total loss: mean per epoch and every step. */
  losses: LossCurves,
  /** Mean per epoch of every component (`ce/student`, `kd-output/mim`, ...), unweighted as the losses return them. */
  components: Schema.Record(Schema.String, Schema.Array(Schema.Finite)),
  seconds: Schema.Finite,
})
export type DistillationInfo = typeof DistillationInfo.Type

/** A distilled student and how it was distilled. */
export interface DistilledStudentValue extends TeacherWeightsValue {
  readonly distillation: DistillationInfo
}

const codec = Artifact.json("DistillationInfo", DistillationInfo)
const NAME = "DistilledStudent"

const rename = (e: Artifact.ArtifactDecodeError, file: string) => new Artifact.ArtifactDecodeError({ artifact: NAME, file, reason: e.reason })

/** The artifact type; files `teacher.json`, `weights.safetensors`, `distillation.json`. */
export const DistilledStudent = Artifact.make<typeof NAME, DistilledStudentValue>(NAME, {
  encode: (v) => {
    const [json] = codec.encode(v.distillation)
    return [...TeacherWeights.encode(v), { name: "distillation.json", bytes: json?.bytes ?? new Uint8Array() }]
  },
  decode: (files) =>
    Effect.gen(function* () {
      const weights = yield* TeacherWeights.decode(files).pipe(Effect.mapError((e) => rename(e, e.file)))
      const json = files.get("distillation.json")
      if (json === undefined) return yield* new Artifact.ArtifactDecodeError({ artifact: NAME, file: "distillation.json", reason: "missing" })
      const distillation = yield* codec.decode(new Map([["value.json", json]])).pipe(Effect.mapError((e) => rename(e, "distillation.json")))
      if (weights.info.config.numClasses !== distillation.classes.length) {
        return yield* new Artifact.ArtifactDecodeError({
          artifact: NAME,
          file: "teacher.json",
          reason: `config.numClasses is ${weights.info.config.numClasses}, expected ${distillation.classes.length} (the classes in distillation.json)`,
        })
      }
      return { ...weights, distillation }
    }),
})
