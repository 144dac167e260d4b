/**
 * The DINO loss (Caron et al. 2021, "Emerging Properties in Self-Supervised
 * Vision Transformers", eq. 1-3 and Algorithm 1), exactly as `DINOLoss` in
 * facebookresearch/dino `main_dino.py`:
 *
 *   P_s(x)   = softmax(g_s(x) / τ_s)                       (eq. 1, τ_s = 0.1)
 *   P_t(x)   = softmax((g_t(x) - c) / τ_t)                 (centering + sharpening)
 *   L        = 1/|pairs| Σ_{i ∈ global} Σ_{j ≠ i} mean_b H(P_t(x_i), P_s(x_j))   (eq. 3)
 *   H(a, b)  = -Σ_k a_k log b_k
 *   c       <- m c + (1 - m) mean_b g_t(x)                  (eq. 4, m = 0.9)
 *
 * Outputs are concatenated view-major, as DINO's `MultiCropWrapper` returns
 * them: student rows `[view 0 | view 1 | local 0 | ... ]`, each block `B` rows;
 * teacher rows the 2 global views only. Student view `i < teacherViews` is the
 * same crop as teacher view `i`; those pairs are skipped. Log-space
 * throughout (`logSoftmax`); the teacher side (and the center) is under
 * {@link stopGradient}.
 */
import * as tf from "@tensorflow/tfjs-core"
import { InvalidObjectiveConfig, ShapeMismatch, shapeText } from "./errors.ts"
import { stopGradient } from "./stopGradient.ts"

export interface DinoLossOptions {
  /** V: the student's views, 2 global + N local (DINO's `ncrops`). */
  readonly studentViews: number
  /** The teacher's views, the global crops (default 2); they are the student's first views. */
  readonly teacherViews?: number
  /** τ_t at this epoch (see `teacherTempSchedule`). */
  readonly teacherTemp: number
  /** τ_s (default 0.1). */
  readonly studentTemp?: number
}

const positive = (op: string, field: string, value: number): InvalidObjectiveConfig | undefined =>
  Number.isFinite(value) && value > 0 ? undefined : new InvalidObjectiveConfig({ op, field, value, expected: "a finite number > 0" })

/**
 * Why these shapes and options cannot go into {@link dinoLoss}, or `undefined`.
 * `center` may be `[1, K]` (DINO's buffer) or `[K]`.
 */
export const checkDinoLoss = (
  student: ReadonlyArray<number>,
  teacher: ReadonlyArray<number>,
  center: ReadonlyArray<number>,
  o: DinoLossOptions,
): ShapeMismatch | InvalidObjectiveConfig | undefined => {
  const op = "dinoLoss"
  const tv = o.teacherViews ?? 2
  const v = o.studentViews
  if (!Number.isInteger(tv) || tv < 1) return new InvalidObjectiveConfig({ op, field: "teacherViews", value: tv, expected: "an integer >= 1" })
  if (!Number.isInteger(v) || v < tv || v < 2) {
    return new InvalidObjectiveConfig({ op, field: "studentViews", value: v, expected: `an integer >= max(2, teacherViews = ${tv})` })
  }
  const bad = positive(op, "teacherTemp", o.teacherTemp) ?? positive(op, "studentTemp", o.studentTemp ?? 0.1)
  if (bad !== undefined) return bad
  const [rows, k] = student
  if (student.length !== 2 || rows === undefined || k === undefined || rows === 0 || rows % v !== 0) {
    return new ShapeMismatch({ op, field: "studentOutput", shape: student, expected: `[studentViews * B, K] with studentViews = ${v}` })
  }
  const b = rows / v
  if (teacher.length !== 2 || teacher[0] !== tv * b || teacher[1] !== k) {
    return new ShapeMismatch({
      op,
      field: "teacherOutput",
      shape: teacher,
      expected: `[${tv * b}, ${k}] (teacherViews ${tv} x B ${b}, K of studentOutput ${shapeText(student)})`,
    })
  }
  const centerOk = (center.length === 1 && center[0] === k) || (center.length === 2 && center[0] === 1 && center[1] === k)
  if (!centerOk) return new ShapeMismatch({ op, field: "center", shape: center, expected: `[1, ${k}] or [${k}] (K of studentOutput ${shapeText(student)})` })
  return undefined
}

/**
 * The DINO loss, a scalar (see the module doc). Gradients flow into
 * `studentOutput` only. Throws {@link ShapeMismatch} / {@link InvalidObjectiveConfig}.
 *
 * @example
 * const { value, grads } = tf.variableGrads(() =>
 *   dinoLoss(studentOut(views), teacherOut, center, { studentViews: 2 + locals, teacherTemp: tempAt(epoch) }))
 */
export const dinoLoss = (studentOutput: tf.Tensor, teacherOutput: tf.Tensor, center: tf.Tensor, o: DinoLossOptions): tf.Scalar => {
  const bad = checkDinoLoss(studentOutput.shape, teacherOutput.shape, center.shape, o)
  if (bad !== undefined) throw bad
  const tv = o.teacherViews ?? 2
  const v = o.studentViews
  const [rows = 0, k = 0] = studentOutput.shape
  const b = rows / v
  return tf.tidy(() => {
    const logP = tf.reshape(tf.logSoftmax(tf.div(studentOutput, o.studentTemp ?? 0.1), -1), [v, b * k])
    const centered = stopGradient(tf.sub(teacherOutput, tf.reshape(center, [1, k])))
    const q = tf.reshape(tf.exp(tf.logSoftmax(tf.div(centered, o.teacherTemp), -1)), [tv, b * k])
    // pair[i, j] = mean_b H(P_t(x_i), P_s(x_j)): one product for all pairs.
    const pair = tf.div(tf.neg(tf.matMul(q, logP, false, true)), b)
    const offDiagonal = tf.tensor2d(Array.from({ length: tv * v }, (_, n) => (Math.floor(n / v) === n % v ? 0 : 1)), [tv, v])
    const terms = tv * v - tv
    return tf.div(tf.sum(tf.mul(pair, offDiagonal)), terms)
  })
}

/**
 * The center's EMA update (eq. 4; `DINOLoss.update_center`, one process):
 * `c' = m c + (1 - m) mean_rows(teacherOutput)`, over the rows of every
 * teacher view. Returns a new `[1, K]` tensor; the caller disposes the old one
 * (or `assign`s it into a variable). Call it after {@link dinoLoss}, with the
 * same teacher output: the loss uses the center from before the update.
 */
export const updateCenter = (center: tf.Tensor, teacherOutput: tf.Tensor, momentum = 0.9): tf.Tensor => {
  const op = "updateCenter"
  if (!(momentum >= 0 && momentum <= 1)) throw new InvalidObjectiveConfig({ op, field: "momentum", value: momentum, expected: "a number in [0, 1]" })
  const [rows, k] = teacherOutput.shape
  if (teacherOutput.rank !== 2 || rows === undefined || rows === 0 || k === undefined) {
    throw new ShapeMismatch({ op, field: "teacherOutput", shape: teacherOutput.shape, expected: "[rows > 0, K]" })
  }
  if (center.size !== k || !(center.rank === 1 || (center.rank === 2 && center.shape[0] === 1))) {
    throw new ShapeMismatch({ op, field: "center", shape: center.shape, expected: `[1, ${k}] or [${k}] (K of teacherOutput ${shapeText(teacherOutput.shape)})` })
  }
  return tf.tidy(() => {
    const batchCenter = tf.div(tf.sum(teacherOutput, 0, true), rows)
    return tf.add(tf.mul(tf.reshape(center, [1, k]), momentum), tf.mul(batchCenter, 1 - momentum))
  })
}
