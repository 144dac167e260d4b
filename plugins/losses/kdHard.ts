/**
 * `kd-hard`: DeiT's hard-label distillation (Touvron et al. 2021, sec. 4,
 * "hard-label distillation"), beyond the paper: the student's distillation
 * logits learn the teacher's decision y_t = argmax_k z_t,k by cross-entropy,
 *
 *   L_hard = CE(ψ(Z_dist), y_t)
 *
 * DeiT adds it with weight 1/2 next to 1/2 · CE(ψ(Z_cls), y). The student's
 * `distLogits` (a distillation token's head) are read when present, its
 * `logits` otherwise. The argmax is not differentiable, so no gradient
 * reaches the teacher. Ties go to the lowest class index.
 */
import * as tf from "@tensorflow/tfjs-core"
import { Schema } from "effect"
import { Config } from "../../dsl/index.ts"
import { crossEntropy } from "./ce.ts"
import { LossShapeMismatch, shapeText } from "./errors.ts"
import { defineLoss, type LossResult, need } from "./loss.ts"

/** CE of `student` [B, K] against the argmax of `teacher` [B, K]; component `agreement`: share of rows where both argmaxes agree. */
export const hardDistillation = (student: tf.Tensor, teacher: tf.Tensor): LossResult => {
  if (teacher.rank !== 2 || teacher.shape[0] !== student.shape[0] || teacher.shape[1] !== student.shape[1]) {
    throw new LossShapeMismatch({ loss: "kd-hard", field: "teacher logits", shape: teacher.shape, expected: `${shapeText(student.shape)}, the student logits' shape` })
  }
  const target = tf.tidy(() => tf.argMax(teacher, -1))
  try {
    const total = crossEntropy(student, target, {}, "kd-hard")
    const agreement = tf.tidy(() => tf.mean<tf.Scalar>(tf.cast(tf.equal(tf.argMax(student, -1), target), "float32")))
    return { total, components: { agreement } }
  } finally {
    target.dispose()
  }
}

/** The registry entry: params `{ student = "student", teacher = "cl" }` (roles). */
export const kdHardLoss = defineLoss({
  key: "kd-hard",
  description: "DeiT hard-label distillation: CE of the student's (distillation) logits vs the teacher's argmax",
  params: Schema.Struct({
    student: Config.withDefault(Schema.String, "student"),
    teacher: Config.withDefault(Schema.String, "cl"),
  }),
  make: (p) => (inputs) => {
    const s = inputs.outputs[p.student]?.distLogits ?? need("kd-hard", inputs, p.student, "logits")
    return hardDistillation(s, need("kd-hard", inputs, p.teacher, "logits"))
  },
})
