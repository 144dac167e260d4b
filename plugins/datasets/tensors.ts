/**
 * The bridge from batches (plain typed arrays) to tfjs tensors. The only file
 * of the data path that imports tfjs; call it inside the caller's `tf.tidy`
 * or dispose the result.
 */
import * as tf from "@tensorflow/tfjs-core"
import type { ImageBatch } from "./loader.ts"

/** An image batch as a 4-D float32 tensor, NCHW (as stored) or NHWC (tfjs conv layout). */
export const imagesToTensor = (batch: ImageBatch, layout: "NCHW" | "NHWC" = "NCHW"): tf.Tensor4D => {
  const [n, c, h, w] = batch.shape
  if (layout === "NCHW") return tf.tensor4d(batch.data, [n, c, h, w], "float32")
  return tf.tidy(() => tf.transpose(tf.tensor4d(batch.data, [n, c, h, w], "float32"), [0, 2, 3, 1]))
}

/** Labels as an int32 tensor. */
export const labelsToTensor = (labels: Int32Array): tf.Tensor1D => tf.tensor1d(labels, "int32")

/** Labels as a one-hot float32 matrix `[n, numClasses]`. */
export const oneHotLabels = (labels: Int32Array, numClasses: number): tf.Tensor2D =>
  tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(labels, "int32"), numClasses), "float32") as tf.Tensor2D)
