/**
 * `ce`: cross-entropy of a model's logits against integer labels, the CE_S,
 * CE_CL and CE_MIM terms of the paper's eq. 4, in log space:
 *
 *   CE = -1/B Σ_b Σ_k y_bk log softmax(z_b)_k,   y_b = (1 - ε) onehot(label_b) + ε / K
 *
 * (ε: label smoothing, 0 by default as in the paper; DeiT trains with 0.1).
 * Params: `model` (the role whose logits are read, default `student`),
 * `smoothing`. Labels outside 0..K-1 fail with {@link LabelOutOfRange}
 * instead of giving a silent all-zero one-hot.
 */
import * as tf from "@tensorflow/tfjs-core"
import { Schema } from "effect"
import { Config } from "../../dsl/index.ts"
import { LabelOutOfRange, LossShapeMismatch, shapeText } from "./errors.ts"
import { defineLoss, need, needLabels } from "./loss.ts"

export interface CrossEntropyOptions {
  /** Label smoothing ε in [0, 1); default 0. */
  readonly smoothing?: number
}

/** Mean cross-entropy of `logits` [B, K] against `labels` [B] (int32). Throws {@link LossShapeMismatch} / {@link LabelOutOfRange}. */
export const crossEntropy = (logits: tf.Tensor, labels: tf.Tensor, o: CrossEntropyOptions = {}, loss = "ce"): tf.Scalar => {
  const [b, k] = logits.shape
  if (logits.rank !== 2 || b === undefined || k === undefined || b === 0 || k === 0) {
    throw new LossShapeMismatch({ loss, field: "logits", shape: logits.shape, expected: "[B, K] with B, K > 0" })
  }
  if (labels.rank !== 1 || labels.shape[0] !== b) {
    throw new LossShapeMismatch({ loss, field: "labels", shape: labels.shape, expected: `[${b}] (B of logits ${shapeText(logits.shape)})` })
  }
  const values = labels.dataSync()
  values.forEach((label, index) => {
    if (!Number.isInteger(label) || label < 0 || label >= k) throw new LabelOutOfRange({ loss, index, label, numClasses: k })
  })
  const eps = o.smoothing ?? 0
  return tf.tidy(() => {
    const hot = tf.oneHot(tf.cast(labels, "int32"), k)
    const target = eps === 0 ? hot : tf.add(tf.mul(hot, 1 - eps), eps / k)
    return tf.div(tf.neg(tf.sum(tf.mul(target, tf.logSoftmax(logits, -1)))), b)
  })
}

/** The registry entry: params `{ model = "student", smoothing = 0 }`. */
export const ceLoss = defineLoss({
  key: "ce",
  description: "cross-entropy of a model's logits vs integer labels (eq. 4: CE_S, CE_CL, CE_MIM)",
  params: Schema.Struct({
    model: Config.withDefault(Schema.String, "student"),
    smoothing: Config.withDefault(Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0), Schema.isLessThan(1)), 0),
  }),
  make: (p) => (inputs) => {
    const total = crossEntropy(need("ce", inputs, p.model, "logits"), needLabels("ce", inputs), { smoothing: p.smoothing })
    return { total, components: {} }
  },
})
