/**
 * Kullback-Leibler divergence in log space, KL(p || q) = Σ p (log p - log q)
 * over the last axis, one value per row. Internal to the KD losses.
 */
import * as tf from "@tensorflow/tfjs-core"

/** Row-wise KL(p || q) from log-probabilities (`logSoftmax` outputs): exact, no log(0). */
export const klFromLogits = (logP: tf.Tensor, logQ: tf.Tensor): tf.Tensor => tf.sum(tf.mul(tf.exp(logP), tf.sub(logP, logQ)), -1)

/**
 * Row-wise KL(p || q) from probabilities (attention maps, which the model
 * returns after softmax): logs of probabilities clamped at `eps`, so a zero
 * weight gives a finite log. Where p = 0 the term is 0 (p · log eps = 0, the
 * 0 log 0 = 0 convention); where q underflows below eps its log is log eps
 * and its gradient 0.
 */
export const klFromProbs = (p: tf.Tensor, q: tf.Tensor, eps: number): tf.Tensor =>
  tf.sum(tf.mul(p, tf.sub(tf.log(tf.maximum(p, eps)), tf.log(tf.maximum(q, eps)))), -1)
