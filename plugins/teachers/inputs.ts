/**
 * Images as a teacher expects them: resized to its input size, scaled to
 * [0, 1], grey images repeated to the model's channels (a 3-channel ImageNet
 * teacher on Fashion-MNIST), then normalized with the teacher's mean and std
 * (`TeacherInfo.normalization`).
 */
import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import { resize } from "../datasets/augment/augmentation.ts"
import type { ImageSet } from "../datasets/ImageSet.ts"
import { type ImageBatch, makeLoader } from "../datasets/loader.ts"
import { imagesToTensor } from "../datasets/tensors.ts"
import type { TeacherInfo } from "./artifact.ts"
import { StageConfigError } from "../training/errors.ts"

/** An in-order, unaugmented loader of `set` at the teacher's input size, pixels in [0, 1]. */
export const teacherLoader = (stage: string, set: ImageSet, info: TeacherInfo, batchSize: number) =>
  Effect.gen(function* () {
    const c = info.config.inChans
    if (set.channels !== c && set.channels !== 1) {
      return yield* new StageConfigError({ stage, field: "dataset", value: `${set.name} (${set.channels} channels)`, expected: `${c} channels, or 1 (grey, repeated) for teacher ${info.teacher}` })
    }
    if (info.normalization.mean.length !== c || info.normalization.std.length !== c) {
      return yield* new StageConfigError({ stage, field: "teacher normalization", value: JSON.stringify(info.normalization), expected: `one mean and std per model channel (${c})` })
    }
    const plain = { mean: new Array<number>(set.channels).fill(0), std: new Array<number>(set.channels).fill(1) }
    return yield* makeLoader(set, { batchSize, normalization: plain, augmentation: resize(info.config.imgSize), shuffle: false })
  })

/** The batch as the teacher's input tensor [B, inChans, S, S]; call inside `tf.tidy`. */
export const teacherInput = (batch: ImageBatch, info: TeacherInfo): tf.Tensor => {
  const c = info.config.inChans
  let x: tf.Tensor = imagesToTensor(batch)
  if ((x.shape[1] ?? c) !== c) x = tf.tile(x, [1, c, 1, 1])
  const mean = tf.tensor4d(Float32Array.from(info.normalization.mean), [1, c, 1, 1])
  const std = tf.tensor4d(Float32Array.from(info.normalization.std), [1, c, 1, 1])
  return tf.div(tf.sub(x, mean), std)
}
