/**
 * `kd-attention`: KD on attention maps, the paper's eq. 3:
 *
 *   L_Attn = l2 · KL(A1_CL || A1_S) + (1 - l2) · KL(A2_MIM || A2_S),   l2 = 0
 *
 * A1_S, A2_S: heads 1 and 2 (indices 0 and 1, configurable) of the student's
 * distilled layer; A1_CL, A2_MIM: the head of each teacher chosen by Attention
 * Confidence (eq. 2, `plugins/analysis/attentionConfidence.ts`). KL is taken
 * row by row, each query's distribution over keys, teacher first, and
 * averaged over the T query rows and the B images.
 *
 * The maps arrive as probabilities (the ViT returns softmax outputs), so the
 * logs are of probabilities clamped at `eps` (default 1e-12): a zero weight
 * gives a finite log, and 0 · log eps = 0 keeps the 0 log 0 = 0 convention.
 * Teacher maps pass through {@link stopGradient}. Teacher and student must
 * have the same token count T ({@link AttentionTokenMismatch} otherwise).
 * A term whose weight is 0 is skipped (with the paper's l2 = 0 the CL
 * teacher's maps are not needed).
 */
import * as tf from "@tensorflow/tfjs-core"
import { Schema } from "effect"
import { Config } from "../../dsl/index.ts"
import { stopGradient } from "../objectives/stopGradient.ts"
import { AttentionTokenMismatch, LossShapeMismatch, MissingLossInput, shapeText } from "./errors.ts"
import { klFromProbs } from "./internal/kl.ts"
import { defineLoss, type LossResult, need } from "./loss.ts"

const LOSS = "kd-attention"

const headOf = (attn: tf.Tensor, head: number): tf.Tensor => {
  const [b = 0, , t = 0] = attn.shape
  return tf.slice(attn, [0, head, 0, 0], [b, 1, t, t])
}

const checkMaps = (student: ReadonlyArray<number>, sHead: number, teacher: ReadonlyArray<number>, tHead: number, role: string): void => {
  const [b, hs, t, t2] = student
  if (student.length !== 4 || t !== t2 || b === undefined || b === 0 || hs === undefined || hs <= sHead) {
    throw new LossShapeMismatch({ loss: LOSS, field: "student attention", shape: student, expected: `[B > 0, H > ${sHead}, T, T] (head ${sHead} is distilled)` })
  }
  const [bt, ht, tt, tt2] = teacher
  if (teacher.length !== 4 || tt !== tt2) {
    throw new LossShapeMismatch({ loss: LOSS, field: `${role} attention`, shape: teacher, expected: "[B, H, T, T] (one square map per head)" })
  }
  if (tt !== t) throw new AttentionTokenMismatch({ loss: LOSS, teacher: role, teacherShape: teacher, studentShape: student })
  if (bt !== b || ht === undefined || ht <= tHead) {
    throw new LossShapeMismatch({ loss: LOSS, field: `${role} attention`, shape: teacher, expected: `[${b}, H > ${tHead}, ${t}, ${t}] (B and T of the student's ${shapeText(student)}; head ${tHead} is distilled)` })
  }
}

/**
 * mean over images and query rows of KL(A_teacher[head] || A_student[head]),
 * a scalar; gradients flow into `student` only.
 */
export const attentionKl = (student: tf.Tensor, studentHead: number, teacher: tf.Tensor, teacherHead: number, eps = 1e-12, role = "teacher"): tf.Scalar => {
  checkMaps(student.shape, studentHead, teacher.shape, teacherHead, role)
  const [b = 0, , t = 0] = student.shape
  return tf.tidy(() => {
    const a = stopGradient(headOf(teacher, teacherHead))
    const s = headOf(student, studentHead)
    return tf.div(tf.sum(klFromProbs(a, s, eps)), b * t)
  })
}

export interface KdAttentionOptions {
  /** l2: weight of the CL term, in [0, 1] (default 0, the paper's best setting). */
  readonly lambda?: number
  /** Student heads matched to the CL and the MIM teacher (default [0, 1]: A1_S, A2_S). */
  readonly studentHeads?: readonly [number, number]
  /** The AC-selected head of each teacher (default 0). */
  readonly clHead?: number
  readonly mimHead?: number
  /** Clamp of probabilities before the log (default 1e-12). */
  readonly eps?: number
}

/** One pair of eq. 3 over N teachers: component name, weight, the teacher's maps (may be undefined at weight 0) and the two heads. */
export interface KdAttentionPair {
  readonly name: string
  readonly weight: number
  readonly maps: tf.Tensor | undefined
  /** Student head the teacher head is distilled onto (A_S of eq. 3). */
  readonly studentHead: number
  /** The teacher's head (eq. 2's choice). */
  readonly teacherHead: number
}

/**
 * Eq. 3 over N teachers, sum_i w_i KL(A_i[h_i] || A_S[s_i]) row by row: a
 * pair of weight 0 is skipped (its maps may be undefined). Components by
 * pair name: each mean row KL, unweighted. The paper's form is
 * [(cl, l2, head 1), (mim, 1 - l2, head 2)] ({@link kdAttention}).
 */
export const kdAttentionOver = (student: tf.Tensor, pairs: ReadonlyArray<KdAttentionPair>, eps = 1e-12): LossResult => {
  const components: Record<string, tf.Scalar> = {}
  const weighted: Array<tf.Scalar> = []
  for (const { name, weight: w, maps, studentHead, teacherHead } of pairs) {
    if (w === 0) continue
    if (maps === undefined) throw new MissingLossInput({ loss: LOSS, field: `${name} attention (weight ${w})`, available: ["student attention"] })
    const kl = attentionKl(student, studentHead, maps, teacherHead, eps, name)
    components[name] = kl
    weighted.push(tf.mul(kl, w))
  }
  const total = weighted.length === 0 ? tf.scalar(0) : weighted.length === 1 ? weighted[0]! : tf.addN(weighted)
  return { total, components }
}

/**
 * Eq. 3 on tensors: maps [B, H, T, T] of the student's distilled layer and of
 * each teacher's layer; a teacher's map may be undefined when its weight is
 * 0. Components `cl` and `mim`: each mean row KL, unweighted.
 */
export const kdAttention = (student: tf.Tensor, cl: tf.Tensor | undefined, mim: tf.Tensor | undefined, o: KdAttentionOptions = {}): LossResult => {
  const l2 = o.lambda ?? 0
  const [h1, h2] = o.studentHeads ?? [0, 1]
  return kdAttentionOver(student, [
    { name: "cl", weight: l2, maps: cl, studentHead: h1, teacherHead: o.clHead ?? 0 },
    { name: "mim", weight: 1 - l2, maps: mim, studentHead: h2, teacherHead: o.mimHead ?? 0 },
  ], o.eps ?? 1e-12)
}

const Head = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

/** One pair of the N-teacher form: the teacher's role, its weight, its head and the student head it lands on. */
const KdAttentionRow = Schema.Struct({
  role: Schema.String,
  weight: Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)),
  head: Head,
  studentHead: Head,
})

/**
 * The registry entry: params `{ lambda = 0, studentHeads = [0, 1], clHead = 0,
 * mimHead = 0, eps = 1e-12, student = "student", cl = "cl", mim = "mim" }`.
 * With `teachers: [{ role, weight, head, studentHead }, ...]` (eq. 3 over N
 * teachers) the rows replace `lambda`, `studentHeads`, `clHead`, `mimHead`,
 * `cl` and `mim`; components are named by the rows' roles. The joint-distill
 * stage writes the rows, the heads from the AC selection.
 */
export const kdAttentionLoss = defineLoss({
  key: LOSS,
  description: "eq. 3: l2·KL(A1_CL || A1_S) + (1 - l2)·KL(A2_MIM || A2_S), row-wise over the distilled layer; or sum_i w_i KL(A_i || A_S[s_i]) over `teachers`",
  params: Schema.Struct({
    lambda: Config.withDefault(Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 })), 0),
    studentHeads: Config.withDefault(Schema.Tuple([Head, Head]), [0, 1]),
    clHead: Config.withDefault(Head, 0),
    mimHead: Config.withDefault(Head, 0),
    eps: Config.withDefault(Schema.Finite.check(Schema.isGreaterThan(0), Schema.isLessThan(1e-3)), 1e-12),
    student: Config.withDefault(Schema.String, "student"),
    cl: Config.withDefault(Schema.String, "cl"),
    mim: Config.withDefault(Schema.String, "mim"),
    teachers: Schema.optional(Schema.Array(KdAttentionRow)),
  }),
  make: (p) => (inputs) => {
    const s = need(LOSS, inputs, p.student, "attention")
    if (p.teachers !== undefined) {
      const pairs = p.teachers.map((t) => ({
        name: t.role, weight: t.weight, studentHead: t.studentHead, teacherHead: t.head,
        maps: t.weight === 0 ? undefined : need(LOSS, inputs, t.role, "attention"),
      }))
      return kdAttentionOver(s, pairs, p.eps)
    }
    const cl = p.lambda === 0 ? undefined : need(LOSS, inputs, p.cl, "attention")
    const mim = p.lambda === 1 ? undefined : need(LOSS, inputs, p.mim, "attention")
    return kdAttention(s, cl, mim, { lambda: p.lambda, studentHeads: p.studentHeads, clHead: p.clHead, mimHead: p.mimHead, eps: p.eps })
  },
})
