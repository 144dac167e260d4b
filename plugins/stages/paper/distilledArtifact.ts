/**
 * The `DistilledStudent` artifact: a student ViT trained by one of the
 * paper's Table 2 recipes: joint distillation (sec. 3.4, eq. 4,
 * `method: "joint"`, one or more teachers), two-stage KD from one fine-tuned teacher
 * (`"kd-single"`, eq. 1 with one teacher) or the student alone on its CE
 * (`"student-alone"`, the baseline, no teacher). It is a `TeacherWeights`
 * value (student weights under timm names, with its classification head;
 * `modelFromWeights`, `top1` and the evaluate stages read it as they read a
 * teacher) plus the record of the run (`distillation.json`): the method, the
 * teachers (0..N) and AC-selected heads used, the loss terms, the
 * per-epoch mean of every logged loss component (eq. 1, 3, 4 parts), and the
 * time. Files: `teacher.json`, `weights.safetensors`, `distillation.json`;
 * a joint run also keeps each teacher it trained, as an `AdaptedTeacher`
 * (mode `joint partial-1`) under `teachers/<role>/` (`teacher.json`,
 * `weights.safetensors`, `adaptation.json`): `paper/joint-teacher` reads one
 * out, so its test top-1 is reportable.
 *
 * A `distillation.json` of the earlier two-teacher form (`cl`, `mim` fields,
 * no `method` / `teachers`) does not decode: `ArtifactDecodeError` naming the
 * file and the missing fields (its cache key also differs: the code changed).
 */
import { Effect, Schema } from "effect"
import { Artifact, Config } from "../../../dsl/index.ts"
import { LossCurves, TeacherWeights, type TeacherWeightsValue } from "../../teachers/artifact.ts"
import { AdaptedTeacher, type AdaptedTeacherValue } from "./artifact.ts"

const Count = Config.IntAtLeast(0)

/** One teacher of the run: its loss role, who, how it kept training, which map eq. 3 read. */
export const DistillTeacherInfo = Schema.Struct({
  /** Loss role: e.g. `cl` / `mim` (joint, the paper's table), `teacher` (kd-single). */
  role: Schema.String,
  teacher: Schema.String,
  /** `partial-1` (eq. 4: the teacher trains its head + last block on its CE) or `frozen` (two-stage KD). */
  mode: Schema.String,
  /** Scalar parameters the teacher trained during the run (0 when frozen). */
  trainable: Count,
  /** Distilled block and the head chosen by Attention Confidence (eq. 2); absent when no attention map is read (kd-single). */
  layer: Schema.optional(Count),
  head: Schema.optional(Count),
  /** `adapted`: entered with its downstream head; `pretrained`: entered SSL-pretrained with a fresh head from `headSeed` (one stage). */
  start: Schema.optional(Schema.Literals(["adapted", "pretrained"])),
  headSeed: Schema.optional(Schema.Int),
  /** sha256 (16 hex chars, `stateDigest`) of the teacher's weights at step 0: what the run started from. */
  startDigest: Schema.optional(Schema.String),
  /** lambda_i of eq. 1, and the weight and student head of its eq. 3 pair (when the loss has them). */
  lambda: Schema.optional(Schema.Finite),
  attentionWeight: Schema.optional(Schema.Finite),
  studentHead: Schema.optional(Count),
})
export type DistillTeacherInfo = typeof DistillTeacherInfo.Type

/** Which Table 2 row the student is: ours (eq. 4), single-teacher KD, or the baseline without KD. */
export const DistillMethod = Schema.Literals(["joint", "kd-single", "student-alone"])
export type DistillMethod = typeof DistillMethod.Type

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
  method: DistillMethod,
  /** The student's distilled block (A1_S, A2_S of eq. 3 come from its heads); absent when no attention is distilled. */
  studentLayer: Schema.optional(Count),
  /** At least 1 (joint), 1 (kd-single) or 0 (student-alone), in loss-role order. */
  teachers: Schema.Array(DistillTeacherInfo),
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
  /** The teachers a joint run trained, as they ended (absent or empty otherwise). */
  readonly trainedTeachers?: ReadonlyArray<{ readonly role: string; readonly value: AdaptedTeacherValue }>
}

const TEACHERS = "teachers/"
/** What a teacher's role may be: it names the folder its trained weights are kept in. */
export const ROLE = /^[A-Za-z][A-Za-z0-9_-]*$/

const codec = Artifact.json("DistillationInfo", DistillationInfo)
const NAME = "DistilledStudent"

const rename = (e: Artifact.ArtifactDecodeError, file: string) => new Artifact.ArtifactDecodeError({ artifact: NAME, file, reason: e.reason })

/** The artifact type; files `teacher.json`, `weights.safetensors`, `distillation.json`. */
export const DistilledStudent = Artifact.make<typeof NAME, DistilledStudentValue>(NAME, {
  encode: (v) => {
    const [json] = codec.encode(v.distillation)
    // Roles are checked against ROLE by the joint stage before training (a folder name each).
    const teachers = (v.trainedTeachers ?? []).flatMap((t) => AdaptedTeacher.encode(t.value).map((f) => ({ name: `${TEACHERS}${t.role}/${f.name}`, bytes: f.bytes })))
    return [...TeacherWeights.encode(v), { name: "distillation.json", bytes: json?.bytes ?? new Uint8Array() }, ...teachers]
  },
  decode: (files) =>
    Effect.gen(function* () {
      const weights = yield* TeacherWeights.decode(files).pipe(Effect.mapError((e) => rename(e, e.file)))
      const json = files.get("distillation.json")
      if (json === undefined) return yield* new Artifact.ArtifactDecodeError({ artifact: NAME, file: "distillation.json", reason: "missing" })
      const distillation = yield* codec.decode(new Map([["value.json", json]])).pipe(Effect.mapError((e) => rename(e, "distillation.json")))
      const n = distillation.teachers.length
      const expected = { joint: n >= 1 ? undefined : "at least 1", "kd-single": n === 1 ? undefined : "1", "student-alone": n === 0 ? undefined : "0" }[distillation.method]
      if (expected !== undefined) {
        return yield* new Artifact.ArtifactDecodeError({
          artifact: NAME,
          file: "distillation.json",
          reason: `method ${distillation.method} has ${n} teachers, expected ${expected}`,
        })
      }
      if (weights.info.config.numClasses !== distillation.classes.length) {
        return yield* new Artifact.ArtifactDecodeError({
          artifact: NAME,
          file: "teacher.json",
          reason: `config.numClasses is ${weights.info.config.numClasses}, expected ${distillation.classes.length} (the classes in distillation.json)`,
        })
      }
      const stored = new Set([...files.keys()].filter((f) => f.startsWith(TEACHERS)).map((f) => f.slice(TEACHERS.length).split("/")[0] ?? ""))
      const order = distillation.teachers.map((t) => t.role)
      const roles = [...stored].sort((a, b) => order.indexOf(a) - order.indexOf(b))
      const trainedTeachers: Array<{ readonly role: string; readonly value: AdaptedTeacherValue }> = []
      for (const role of roles) {
        const prefix = `${TEACHERS}${role}/`
        const own = new Map([...files].filter(([f]) => f.startsWith(prefix)).map(([f, b]) => [f.slice(prefix.length), b] as const))
        const value = yield* AdaptedTeacher.decode(own).pipe(Effect.mapError((e) => rename(e, `${prefix}${e.file}`)))
        if (!distillation.teachers.some((t) => t.role === role)) {
          return yield* new Artifact.ArtifactDecodeError({ artifact: NAME, file: `${prefix}teacher.json`, reason: `role ${role} is not a teacher of distillation.json (${distillation.teachers.map((t) => t.role).join(", ")})` })
        }
        trainedTeachers.push({ role, value })
      }
      return { ...weights, distillation, ...(trainedTeachers.length === 0 ? {} : { trainedTeachers }) }
    }),
})
