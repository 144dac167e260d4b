/**
 * The pieces of `paper/adapt-teacher` (sec. 3.1) that touch tensors: the
 * seeded, augmented training loader at the teacher's input size, one CE step
 * on the selected parameters with AdamW, and top-1 over a loader (both also
 * over cached trunk tokens: `ceStep`, `top1By`, used by `trunk.ts`).
 */
import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import { randomCrop } from "../../datasets/augment/augmentation.ts"
import type { ImageSet } from "../../datasets/ImageSet.ts"
import { type Batch, type Loader, makeLoader } from "../../datasets/loader.ts"
import { asSource, type BatchSource, loaderSource, type SplitData, streamSource } from "../../datasets/source.ts"
import { labelsToTensor } from "../../datasets/tensors.ts"
import { crossEntropy } from "../../losses/ce.ts"
import { forward } from "../../models/vit/forward.ts"
import type { VitModel } from "../../models/vit/model.ts"
import type { TeacherInfo } from "../../teachers/artifact.ts"
import type { AdamW } from "../../training/adamw.ts"
import { inputMismatch, teacherInput, unitNormalization } from "../../teachers/inputs.ts"

export interface TrainLoaderOptions {
  readonly batchSize: number
  readonly seed: number
  /** Lower bound of the random resized crop's area fraction (upper: 1). */
  readonly cropScaleMin: number
  /** Horizontal flip probability. */
  readonly flip: number
}

/**
 * Shuffled batches of random resized crops + flips (DeiT/torchvision) at the
 * teacher's input size, pixels in [0, 1]; `teacherInput` then repeats grey
 * channels and applies the teacher's normalization. Batch (e, b) is a pure
 * function of (seed, e, b), which makes a resumed run see the same batches.
 */
export const trainLoader = (stage: string, set: ImageSet, info: TeacherInfo, o: TrainLoaderOptions) =>
  Effect.gen(function* () {
    const mismatch = inputMismatch(stage, set.name, set.channels, info)
    if (mismatch !== undefined) return yield* mismatch
    return yield* makeLoader(set, {
      batchSize: o.batchSize,
      normalization: unitNormalization(set.channels),
      seed: o.seed,
      dropLast: true,
      augmentation: randomCrop({ size: info.config.imgSize, scale: [o.cropScaleMin, 1], flip: o.flip }),
    })
  })

/**
 * The training batches of `data`: {@link trainLoader} over an in-memory
 * split; over a streamed one, RandomResizedCrop (area [cropScaleMin, 1]) +
 * flip from the full-size files, decoded at the model's input size, shuffled
 * per (seed, epoch), the last partial batch dropped (as `trainLoader`).
 * Needs a scope (the stream closes with it).
 */
export const trainSource = (stage: string, data: SplitData, info: TeacherInfo, o: TrainLoaderOptions) =>
  Effect.gen(function* () {
    if (data.kind === "memory") return loaderSource(yield* trainLoader(stage, data.set, info, o))
    const channels = data.meta.channels === 1 ? 1 : 3
    const mismatch = inputMismatch(stage, data.meta.name, channels, info)
    if (mismatch !== undefined) return yield* mismatch
    return yield* streamSource(data, {
      mode: "train",
      batchSize: o.batchSize,
      size: info.config.imgSize,
      channels,
      normalization: unitNormalization(channels),
      seed: o.seed,
      scale: [o.cropScaleMin, 1],
      flip: o.flip,
    })
  })

/**
 * One CE step on `params`: CE(logits(), labels), its gradient with respect to
 * `params` only (the frozen rest gets none), one AdamW update; returns the
 * loss. `logits` runs inside the step's `tf.tidy` and the gradient tape, so
 * it may build its input tensors itself. Shared by `paper/adapt-teacher`
 * (logits of images) and `paper/adapt-teacher-cached` (logits of cached
 * trunk tokens, `trunk.ts`).
 */
export const ceStep = (
  params: ReadonlyMap<string, tf.Variable>,
  optimizer: AdamW,
  logits: () => tf.Tensor,
  labels: Int32Array,
  lr: number,
  weightDecay: number,
): number =>
  tf.tidy(() => {
    const y = labelsToTensor(labels)
    const { value, grads } = tf.variableGrads(() => crossEntropy(logits(), y), [...params.values()])
    // `variableGrads` keys gradients by the tfjs variable's own name: map them back to timm names.
    const timmName = new Map([...params].map(([name, v]) => [v.name, name]))
    const byName = new Map(Object.entries(grads).flatMap(([varName, g]) => {
      const name = timmName.get(varName)
      return name === undefined ? [] : [[name, g] as const]
    }))
    optimizer.step(byName, lr, weightDecay)
    return value.dataSync()[0] ?? Number.NaN
  })

/**
 * One step of eq. 4's CE term for a teacher alone: CE(head(f(x)), y) with
 * {@link ceStep}. Throws on a tensor failure or a label outside the head
 * (`LabelOutOfRange`).
 */
export const adaptStep = (
  model: VitModel,
  params: ReadonlyMap<string, tf.Variable>,
  optimizer: AdamW,
  info: TeacherInfo,
  batch: Batch,
  lr: number,
  weightDecay: number,
): number => ceStep(params, optimizer, () => forward(model, teacherInput(batch.images, info)), batch.labels, lr, weightDecay)

/** What `top1By` scores of one batch: its logits (called inside `tf.tidy`) and labels. */
export interface ScoredBatch {
  readonly logits: () => tf.Tensor
  readonly labels: Int32Array
}

/** Top-1 over `batches` batches, batch `b` giving its logits and labels (or an Effect of them, e.g. a streamed batch). */
export const top1By = <E = never>(
  batches: number,
  batch: (b: number) => ScoredBatch | Effect.Effect<ScoredBatch, E>,
  progress?: (done: number, total: number) => Effect.Effect<void>,
) =>
  Effect.gen(function* () {
    let correct = 0
    let seen = 0
    for (let b = 0; b < batches; b++) {
      const next = batch(b)
      const { logits, labels } = Effect.isEffect(next) ? yield* next : next
      correct += tf.tidy(() => {
        const predicted = tf.argMax(logits(), 1)
        return tf.sum(tf.cast(tf.equal(predicted, labelsToTensor(labels)), "int32")).dataSync()[0] ?? 0
      })
      seen += labels.length
      if (progress !== undefined) yield* progress(b + 1, batches)
      yield* Effect.yieldNow
    }
    return seen === 0 ? 0 : correct / seen
  })

/**
 * Top-1 of the model's head over every batch of epoch 0 of `loader` (an
 * unaugmented, in-order loader or source); `progress` hears of each batch.
 */
export const top1 = (model: VitModel, info: TeacherInfo, loader: Loader | BatchSource, progress?: (done: number, total: number) => Effect.Effect<void>) => {
  const source = asSource(loader)
  return top1By(source.batchesPerEpoch, (b) =>
    Effect.map(source.batch(0, b), (batch): ScoredBatch => ({ logits: () => forward(model, teacherInput(batch.images, info)), labels: batch.labels })),
    progress,
  ).pipe(Effect.ensuring(source.release))
}
