/**
 * `kd-feature`: feature distillation, beyond the paper (FitNets, Romero et
 * al. 2015; cosine form as in CRD/DINO-style feature matching): the
 * student's features, already projected to the teacher's width by the stage
 * (a projection the stage trains with the student), regress the teacher's:
 *
 *   mse:    L = mean over all elements of (f_S - f_T)²
 *   cosine: L = mean over vectors of 1 - cos(f_S, f_T)   (last axis)
 *
 * Teacher features pass through {@link stopGradient}. Shapes must match.
 */
import * as tf from "@tensorflow/tfjs-core"
import { Schema } from "effect"
import { Config } from "../../dsl/index.ts"
import { stopGradient } from "../objectives/stopGradient.ts"
import { LossShapeMismatch, shapeText } from "./errors.ts"
import { defineLoss, need } from "./loss.ts"

export type FeatureDistance = "mse" | "cosine"

/** The feature loss, a scalar; gradients flow into `student` only. Throws {@link LossShapeMismatch}. */
export const featureDistillation = (student: tf.Tensor, teacher: tf.Tensor, distance: FeatureDistance = "mse"): tf.Scalar => {
  const same = student.rank === teacher.rank && student.shape.every((d, i) => d === teacher.shape[i])
  if (!same || student.size === 0) {
    throw new LossShapeMismatch({ loss: "kd-feature", field: "teacher features", shape: teacher.shape, expected: `${shapeText(student.shape)}, the (projected) student features' shape` })
  }
  return tf.tidy(() => {
    const t = stopGradient(teacher)
    if (distance === "mse") return tf.mean(tf.squaredDifference(student, t))
    const dot = tf.sum(tf.mul(student, t), -1)
    const norms = tf.mul(tf.maximum(tf.norm(student, "euclidean", -1), 1e-8), tf.maximum(tf.norm(t, "euclidean", -1), 1e-8))
    return tf.mean(tf.sub(1, tf.div(dot, norms)))
  })
}

/** The registry entry: params `{ distance = "mse", student = "student", teacher = "mim" }`. */
export const kdFeatureLoss = defineLoss({
  key: "kd-feature",
  description: "feature distillation: MSE or cosine distance of projected student features to a teacher's",
  params: Schema.Struct({
    distance: Config.withDefault(Schema.Literals(["mse", "cosine"]), "mse"),
    student: Config.withDefault(Schema.String, "student"),
    teacher: Config.withDefault(Schema.String, "mim"),
  }),
  make: (p) => (inputs) => ({
    total: featureDistillation(need("kd-feature", inputs, p.student, "features"), need("kd-feature", inputs, p.teacher, "features"), p.distance),
    components: {},
  }),
})
