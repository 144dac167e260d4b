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
import { loaderSource, type SplitData, streamSource } from "../datasets/source.ts"
import { imagesToTensor } from "../datasets/tensors.ts"
import type { TeacherInfo } from "./artifact.ts"
import { StageConfigError } from "../training/errors.ts"

/** Pixels in [0, 1]: the mean-0, std-1 normalization of `channels` channels (the model's own comes in `teacherInput`). */
export const unitNormalization = (channels: number) => ({ mean: new Array<number>(channels).fill(0), std: new Array<number>(channels).fill(1) })

/** Why a dataset of `channels` channels (named `dataset`) cannot feed `info`'s model, or `undefined`. */
export const inputMismatch = (stage: string, dataset: string, channels: number, info: TeacherInfo, o: { readonly normalization?: boolean } = {}): StageConfigError | undefined => {
  const c = info.config.inChans
  if (channels !== c && channels !== 1) {
    return new StageConfigError({ stage, field: "dataset", value: `${dataset} (${channels} channels)`, expected: `${c} channels, or 1 (grey, repeated) for teacher ${info.teacher}` })
  }
  if (o.normalization === true && (info.normalization.mean.length !== c || info.normalization.std.length !== c)) {
    return new StageConfigError({ stage, field: "teacher normalization", value: JSON.stringify(info.normalization), expected: `one mean and std per model channel (${c})` })
  }
  return undefined
}

/** An in-order, unaugmented loader of `set` at the teacher's input size, pixels in [0, 1]. */
export const teacherLoader = (stage: string, set: ImageSet, info: TeacherInfo, batchSize: number) =>
  Effect.gen(function* () {
    const mismatch = inputMismatch(stage, set.name, set.channels, info, { normalization: true })
    if (mismatch !== undefined) return yield* mismatch
    return yield* makeLoader(set, { batchSize, normalization: unitNormalization(set.channels), augmentation: resize(info.config.imgSize), shuffle: false })
  })

/**
 * The un-augmented, in-order batches of `data` at the teacher's input size,
 * pixels in [0, 1]: {@link teacherLoader} over an in-memory split; over a
 * streamed one, the eval transform (shorter side to size / cropPct, centre
 * crop) decoded at the model's size, `channels` (default: the split's; 1 to
 * decode an RGB split as grey). Needs a scope (the stream closes with it).
 */
export const teacherSource = (stage: string, data: SplitData, info: TeacherInfo, batchSize: number, o: { readonly channels?: 1 | 3 } = {}) =>
  Effect.gen(function* () {
    if (data.kind === "memory") return loaderSource(yield* teacherLoader(stage, data.set, info, batchSize))
    const channels = o.channels ?? (data.meta.channels === 1 ? 1 : 3)
    const mismatch = inputMismatch(stage, data.meta.name, channels, info, { normalization: true })
    if (mismatch !== undefined) return yield* mismatch
    return yield* streamSource(data, { mode: "eval", batchSize, size: info.config.imgSize, channels, normalization: unitNormalization(channels) })
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
