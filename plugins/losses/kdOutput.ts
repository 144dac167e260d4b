/**
 * `kd-output`: KD on output distributions from two teachers, the paper's
 * eq. 1 (Hinton et al. 2015 with two teachers):
 *
 *   L_KD = l1 · KL(p_CL || p_S) + (1 - l1) · KL(p_MIM || p_S),   l1 = 0.5
 *   p_X  = softmax(z_X / T),   KL(p || q) = Σ_k p_k (log p_k - log q_k)
 *
 * KL has the teacher as its first argument (forward KL, the student covers
 * the teacher's mass, as `F.kl_div(log_softmax(z_s/T), softmax(z_t/T))`), is
 * summed over classes and averaged over the batch (`reduction="batchmean"`).
 *
 * Temperature: T = 1 by default (the paper states none). Each KL is
 * multiplied by T², as in Hinton et al. (sec. 2): the soft targets' gradients
 * scale as 1/T², so the factor keeps the KD term's weight against the CE
 * terms unchanged when T changes. At T = 1 the factor is 1.
 *
 * Teacher logits pass through {@link stopGradient}: no gradient reaches the
 * teachers from this term (sec. 3.4); they learn from their own CE only.
 * A term whose weight is 0 is skipped, and that teacher's logits may be
 * absent (single-teacher KD: l1 = 1 or l1 = 0).
 */
import * as tf from "@tensorflow/tfjs-core"
import { Schema } from "effect"
import { Config } from "../../dsl/index.ts"
import { stopGradient } from "../objectives/stopGradient.ts"
import { LossShapeMismatch, MissingLossInput, shapeText } from "./errors.ts"
import { klFromLogits } from "./internal/kl.ts"
import { defineLoss, type LossResult, need } from "./loss.ts"

/**
 * T² · mean_b KL(softmax(z_t/T) || softmax(z_s/T)), a scalar; gradients flow
 * into `student` only. Throws {@link LossShapeMismatch} when the shapes differ.
 */
export const softTargetKl = (student: tf.Tensor, teacher: tf.Tensor, temperature = 1, loss = "kd-output", field = "teacher logits"): tf.Scalar => {
  const [b, k] = student.shape
  if (student.rank !== 2 || b === undefined || k === undefined || b === 0) {
    throw new LossShapeMismatch({ loss, field: "student logits", shape: student.shape, expected: "[B, K] with B > 0" })
  }
  if (teacher.rank !== 2 || teacher.shape[0] !== b || teacher.shape[1] !== k) {
    throw new LossShapeMismatch({ loss, field, shape: teacher.shape, expected: `${shapeText(student.shape)}, the student logits' shape` })
  }
  return tf.tidy(() => {
    const logQ = tf.logSoftmax(tf.div(student, temperature), -1)
    const logP = tf.logSoftmax(tf.div(stopGradient(teacher), temperature), -1)
    return tf.mul(tf.div(tf.sum(klFromLogits(logP, logQ)), b), temperature * temperature)
  })
}

export interface KdOutputOptions {
  /** l1: weight of the CL teacher, in [0, 1] (default 0.5). */
  readonly lambda?: number
  /** T > 0 (default 1). */
  readonly temperature?: number
  /** Component names of the two teachers (default `cl`, `mim`; the registry entry uses the roles read). */
  readonly names?: { readonly cl?: string; readonly mim?: string }
}

/** One teacher of eq. 1 over N teachers: its component name, its weight lambda_i, its logits (may be undefined at weight 0). */
export interface KdOutputTeacher {
  readonly name: string
  readonly weight: number
  readonly logits: tf.Tensor | undefined
}

/**
 * Eq. 1 over N teachers, sum_i lambda_i T²·KL(p_i || p_S): a teacher of
 * weight 0 is skipped (its logits may be undefined). Components by teacher
 * name: each T²·KL, unweighted. The paper's two-teacher form is
 * [(cl, l1), (mim, 1 - l1)] ({@link kdOutput}).
 */
export const kdOutputOver = (student: tf.Tensor, teachers: ReadonlyArray<KdOutputTeacher>, temperature = 1): LossResult => {
  const components: Record<string, tf.Scalar> = {}
  const weighted: Array<tf.Scalar> = []
  for (const { name, weight: w, logits: z } of teachers) {
    if (w === 0) continue
    if (z === undefined) throw new MissingLossInput({ loss: "kd-output", field: `${name} logits (weight ${w})`, available: ["student logits"] })
    const kl = softTargetKl(student, z, temperature, "kd-output", `${name} logits`)
    components[name] = kl
    weighted.push(tf.mul(kl, w))
  }
  const total = weighted.length === 0 ? tf.scalar(0) : weighted.length === 1 ? weighted[0]! : tf.addN(weighted)
  return { total, components }
}

/**
 * Eq. 1 on tensors: `cl` / `mim` logits may be undefined when their weight
 * (l1, 1 - l1) is 0. Components `cl` and `mim` (or `names`): each T²·KL,
 * unweighted. Single-teacher KD is l1 = 1 with the teacher in the `cl` slot.
 */
export const kdOutput = (student: tf.Tensor, cl: tf.Tensor | undefined, mim: tf.Tensor | undefined, o: KdOutputOptions = {}): LossResult => {
  const l1 = o.lambda ?? 0.5
  return kdOutputOver(student, [{ name: o.names?.cl ?? "cl", weight: l1, logits: cl }, { name: o.names?.mim ?? "mim", weight: 1 - l1, logits: mim }], o.temperature ?? 1)
}

const Unit = Config.UnitInterval

/** One row of the N-teacher form: the teacher's role and lambda_i >= 0. */
const KdOutputRow = Schema.Struct({ role: Schema.String, weight: Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)) })

/**
 * The registry entry: params `{ lambda = 0.5, temperature = 1, student = "student", cl = "cl", mim = "mim" }`
 * (roles); components are named by the roles (`kd-output/cl`, or `kd-output/teacher` with `cl: "teacher"`).
 * With `teachers: [{ role, weight }, ...]` (eq. 1 over N teachers, sum_i lambda_i KL(p_i || p_S)) the rows
 * replace `lambda`, `cl` and `mim`; components are named by the rows' roles.
 */
export const kdOutputLoss = defineLoss({
  key: "kd-output",
  description: "eq. 1: l1·KL(p_CL || p_S) + (1 - l1)·KL(p_MIM || p_S) on softened outputs, T² scaled; or sum_i lambda_i KL(p_i || p_S) over `teachers`",
  params: Schema.Struct({
    lambda: Config.withDefault(Unit, 0.5),
    temperature: Config.withDefault(Schema.Finite.check(Schema.isGreaterThan(0)), 1),
    student: Config.withDefault(Schema.String, "student"),
    cl: Config.withDefault(Schema.String, "cl"),
    mim: Config.withDefault(Schema.String, "mim"),
    teachers: Schema.optional(Schema.Array(KdOutputRow)),
  }),
  make: (p) => (inputs) => {
    const z = need("kd-output", inputs, p.student, "logits")
    if (p.teachers !== undefined) {
      const rows = p.teachers.map((t) => ({ name: t.role, weight: t.weight, logits: t.weight === 0 ? undefined : need("kd-output", inputs, t.role, "logits") }))
      return kdOutputOver(z, rows, p.temperature)
    }
    const cl = p.lambda === 0 ? undefined : need("kd-output", inputs, p.cl, "logits")
    const mim = p.lambda === 1 ? undefined : need("kd-output", inputs, p.mim, "logits")
    return kdOutput(z, cl, mim, { lambda: p.lambda, temperature: p.temperature, names: { cl: p.cl, mim: p.mim } })
  },
})
