/**
 * `paper/evaluate`: one student (a `DistilledStudent`: ours, the baseline or
 * single-teacher KD) on ONE downstream dataset, a bar of the paper's
 * Figure 3 / a cell of Table 2 (`DownstreamScore`, `scores.ts`). Fanned out
 * over datasets by the pipeline (one worker thread per item: the stage keeps
 * no module-level state).
 *
 * - `top1`, protocol `head`: the dataset's classes are the head's (same
 *   names, same order): top-1 of the model's own head on the test split,
 *   un-augmented (the whole image at the model's input size).
 * - `top1`, protocol `linear-probe` otherwise: the deterministic closed-form
 *   ridge probe of `probe.ts` (standardized features, one-hot targets, ridge
 *   λ = `ridge`) fitted on the frozen features of the training split, scored
 *   on the test split.
 * - `knnTop1`: weighted k-NN (`knnClassify`: cosine, k, T) on the same
 *   frozen features, for every dataset.
 * - `perClass`: accuracy per class of the `top1` protocol (0 for a class
 *   without test images), in the dataset's class order.
 *
 * Features: the final normed class token (`forwardHead(..., { preLogits:
 * true })`), the input of the head. Inputs: resized bilinearly to the
 * model's input size when only the size differs; a grey dataset is repeated
 * to a 3-channel model; an RGB dataset on a 1-channel model fails with
 * `DownstreamChannelMismatch` unless `rgbToGrey` (ITU-R BT.601 luma, 0.299 R
 * + 0.587 G + 0.114 B, on the bytes before resizing); every image is then
 * normalized with the model's own mean and std (those of its training data).
 *
 * A split whose reader streams (the `imagenet` entry) is streamed
 * (`datasets/source.ts`): decoded at the model's input size (shorter side to
 * size / cropPct, centre crop; grey by sharp when `rgbToGrey`), in order,
 * with memory bounded by the prefetch depth; the features of every image
 * (N x D floats, not pixels) are still held for the probe and k-NN.
 */
import * as tf from "@tensorflow/tfjs-core"
import { Data, Effect, Schema } from "effect"
import { Config, Stage, StageContext } from "../../../dsl/index.ts"
import { TensorBackend } from "../../../runtime/backend/TensorBackend.ts"
import { knnClassify } from "../../analysis/knn.ts"
import type { ImageSet } from "../../datasets/ImageSet.ts"
import type { Loader } from "../../datasets/loader.ts"
import { asSource, type BatchSource, loaderSource, openSplit, type SplitData, type SplitMeta } from "../../datasets/source.ts"
import { forwardFeatures, forwardHead } from "../../models/vit/forward.ts"
import { disposeVit, type VitModel } from "../../models/vit/model.ts"
import { modelFromWeights, type TeacherInfo } from "../../teachers/artifact.ts"
import { StageConfigError } from "../../training/errors.ts"
import { TrainingStepError } from "../../training/errors.ts"
import { teacherInput, teacherLoader, teacherSource } from "../../teachers/inputs.ts"
import { splitFiles } from "../../datasets/splits.ts"
import { type DistillationInfo, DistilledStudent, type DistilledStudentValue } from "./distilledArtifact.ts"
import { accuracyPerClass, fitRidgeProbe, probePredict } from "./probe.ts"
import { DownstreamScore, type DownstreamScoreValue } from "./scores.ts"

const NAME = "paper/evaluate"
const Count = Config.IntAtLeast(0)

/** A dataset whose channels the model cannot take. */
export class DownstreamChannelMismatch extends Data.TaggedError("DownstreamChannelMismatch")<{
  readonly stage: string
  readonly dataset: string
  readonly datasetChannels: number
  readonly model: string
  readonly modelChannels: number
}> {
  override get message(): string {
    const hint = this.datasetChannels === 3 && this.modelChannels === 1 ? "; set rgbToGrey: true to convert it to grey (BT.601 luma)" : ""
    return `stage ${this.stage}: dataset ${this.dataset} has ${this.datasetChannels} channels but model ${this.model} takes ${this.modelChannels}${hint}`
  }
}

/** Settings of {@link evaluate}. */
export const EvaluateConfig = Schema.Struct({
  dataset: Config.withDefault(Schema.String, "fashion-mnist"),
  /** First N training images, for the probe and k-NN (0: all). */
  trainCount: Config.withDefault(Count, 0),
  /** First N test images (0: all). */
  testCount: Config.withDefault(Count, 0),
  /** Row label in the report; empty: from the model's record (`ours`, `baseline`, `kd-<teacher>`). */
  label: Config.withDefault(Schema.String, ""),
  /** k-NN neighbours and vote temperature (DINO: 20, 0.07). */
  k: Config.withDefault(Config.IntAtLeast(1), 20),
  temperature: Config.withDefault(Schema.Finite.check(Schema.isGreaterThan(0)), 0.07),
  /** Ridge λ of the linear probe, relative to the standardized features' unit variance. */
  ridge: Config.withDefault(Schema.Finite.check(Schema.isGreaterThan(0)), 0.01),
  /** Convert an RGB dataset to grey for a 1-channel model (otherwise: `DownstreamChannelMismatch`). */
  rgbToGrey: Config.withDefault(Schema.Boolean, false),
  batchSize: Config.withDefault(Config.IntAtLeast(1), 128),
})
export type EvaluateConfig = typeof EvaluateConfig.Type

/** The report row label a model's record implies: `ours` (joint), `baseline` (student alone), `kd-<teacher>` (single-teacher KD). */
export const defaultLabel = (d: Pick<DistillationInfo, "method" | "teachers">): string => {
  if (d.method === "joint") return "ours"
  if (d.method === "student-alone") return "baseline"
  const word = (d.teachers[0]?.teacher ?? "").trim().split(/\s+/)[0]?.toLowerCase().replace(/[^a-z0-9._-]/g, "") ?? ""
  return `kd-${word === "" ? "teacher" : word}`
}

/** A split the model can take: its meta (channels as fed), the in-memory set as fed (absent: streamed), whether it was converted to grey. */
interface Fitted {
  readonly data: SplitData
  readonly meta: SplitMeta
  readonly set: ImageSet | undefined
  readonly converted?: boolean
}

/** `set` as grey (BT.601 luma of each RGB pixel, rounded to a byte). */
export const rgbToGreySet = (set: ImageSet): ImageSet => {
  const plane = set.height * set.width
  const images = new Uint8Array(set.count * plane)
  for (let i = 0; i < set.count; i++) {
    const base = i * 3 * plane
    for (let p = 0; p < plane; p++) {
      const r = set.images[base + p] ?? 0
      const g = set.images[base + plane + p] ?? 0
      const b = set.images[base + 2 * plane + p] ?? 0
      images[i * plane + p] = Math.min(255, Math.round(0.299 * r + 0.587 * g + 0.114 * b))
    }
  }
  return { ...set, images, channels: 1 }
}

/**
 * Frozen features [count, D] (final normed class token) of every image the
 * in-order loader yields and, with `head`, the head's predicted class of each.
 */
export const featuresAndPredictions = (model: VitModel, info: TeacherInfo, loader: Loader | BatchSource, count: number, head: boolean) => {
  const source = asSource(loader)
  return Effect.gen(function* () {
    const d = model.config.embedDim
    const features = new Float32Array(count * d)
    const predictions = new Int32Array(head ? count : 0)
    let at = 0
    for (let b = 0; b < source.batchesPerEpoch; b++) {
      const batch = yield* source.batch(0, b)
      const [feats, predicted] = yield* Effect.try({
        try: () =>
          tf.tidy(() => {
            const tokens = forwardFeatures(model, teacherInput(batch.images, info))
            const f = forwardHead(model, tokens, { preLogits: true })
            return [f, head ? tf.argMax(forwardHead(model, tokens), 1) : undefined] as const
          }),
        catch: (e) => new TrainingStepError({ stage: NAME, epoch: 0, step: b, reason: e instanceof Error ? e.message : String(e) }),
      })
      try {
        features.set(feats.dataSync(), at * d)
        if (predicted !== undefined) predictions.set(predicted.dataSync(), at)
      } finally {
        tf.dispose([feats, ...(predicted === undefined ? [] : [predicted])])
      }
      at += batch.labels.length
      yield* Effect.yieldNow
    }
    return { features, predictions }
  }).pipe(Effect.ensuring(source.release))
}

/** Scores `student` on one downstream dataset (the stage's work). */
export const runEvaluate = (c: EvaluateConfig, student: DistilledStudentValue) =>
  Effect.gen(function* () {
    yield* TensorBackend
    const ctx = yield* StageContext
    const started = performance.now()
    const { info, distillation } = student
    const name = `${info.teacher}`
    const train = yield* openSplit(c.dataset, "train", c.trainCount)
    const test = yield* openSplit(c.dataset, "test", c.testCount)
    const dataset = train.spec.name
    const modelChannels = info.config.inChans
    // An in-memory split is converted here (rgbToGreySet); a streamed one is decoded to the channels `fit` says.
    const fit = (data: SplitData): Fitted | DownstreamChannelMismatch => {
      const channels = data.meta.channels
      if (channels === modelChannels || channels === 1) return { data, meta: data.meta, set: data.kind === "memory" ? data.set : undefined }
      if (channels === 3 && modelChannels === 1 && c.rgbToGrey) {
        const set = data.kind === "memory" ? rgbToGreySet(data.set) : undefined
        return { data, meta: { ...data.meta, channels: 1 }, set, converted: true }
      }
      return new DownstreamChannelMismatch({ stage: NAME, dataset, datasetChannels: channels, model: name, modelChannels })
    }
    const trainFit = fit(train)
    if (trainFit instanceof DownstreamChannelMismatch) return yield* trainFit
    const testFit = fit(test)
    if (testFit instanceof DownstreamChannelMismatch) return yield* testFit
    const [trainSet, testSet] = [trainFit.meta, testFit.meta]
    const bad = (field: string, value: unknown, expected: string) => new StageConfigError({ stage: NAME, field, value: JSON.stringify(value), expected })
    if (trainSet.count < 1) return yield* bad("trainCount", c.trainCount, `a training split with at least one image (${dataset} train is empty)`)
    if (testSet.count < 1) return yield* bad("testCount", c.testCount, `a test split with at least one image (${dataset} test is empty)`)
    if (trainSet.classes.length !== testSet.classes.length || trainSet.classes.some((x, i) => x !== testSet.classes[i])) {
      return yield* bad("dataset", dataset, "the same classes in the train and test splits")
    }
    const classes = [...testSet.classes]
    const headClasses = distillation.classes
    const protocol: DownstreamScoreValue["protocol"] =
      headClasses.length === classes.length && headClasses.every((x, i) => x === classes[i]) ? "head" : "linear-probe"
    const size = info.config.imgSize
    if (trainFit.set === undefined) {
      yield* ctx.log(`${NAME}: ${dataset} is streamed: decoded at the model's ${size}x${size} (shorter side resized, centre crop)`)
    } else if (trainFit.set.height !== size || trainFit.set.width !== size) {
      yield* ctx.log(`${NAME}: ${dataset} images are ${trainFit.set.height}x${trainFit.set.width}; resized (bilinear) to the model's ${size}x${size}`)
    }
    if (trainFit.converted === true) {
      yield* ctx.log(`${NAME}: ${dataset} converted from RGB to grey (${trainFit.set === undefined ? "sharp's greyscale, while decoding" : "BT.601 luma"}) for ${name}`)
    }
    const sourceOf = (f: Fitted) =>
      f.set !== undefined
        ? Effect.map(teacherLoader(NAME, f.set, info, c.batchSize), loaderSource)
        : teacherSource(NAME, f.data, info, c.batchSize, { channels: f.meta.channels === 1 ? 1 : 3 })
    const trainLoader = yield* sourceOf(trainFit)
    const testLoader = yield* sourceOf(testFit)
    const d = info.config.embedDim
    const { trainFeatures, testFeatures, headPredictions } = yield* Effect.acquireUseRelease(
      modelFromWeights(student),
      (model) =>
        Effect.gen(function* () {
          const tr = yield* featuresAndPredictions(model, info, trainLoader, trainSet.count, false)
          yield* ctx.progress({ done: 1, total: 3, note: `${dataset}: train features` })
          const te = yield* featuresAndPredictions(model, info, testLoader, testSet.count, protocol === "head")
          yield* ctx.progress({ done: 2, total: 3, note: `${dataset}: test features` })
          return { trainFeatures: tr.features, testFeatures: te.features, headPredictions: te.predictions }
        }),
      (model) => Effect.sync(() => disposeVit(model)),
    )
    const knn = yield* Effect.acquireUseRelease(
      Effect.sync(() => [tf.tensor2d(trainFeatures, [trainSet.count, d]), tf.tensor2d(testFeatures, [testSet.count, d])] as const),
      ([trainT, testT]) =>
        knnClassify({ trainFeatures: trainT, trainLabels: trainSet.labels, testFeatures: testT, testLabels: testSet.labels }, { numClasses: classes.length, k: c.k, temperature: c.temperature }),
      (ts) => Effect.sync(() => tf.dispose([...ts])),
    )
    let predictions: Int32Array = headPredictions
    if (protocol === "linear-probe") {
      const probe = fitRidgeProbe(trainFeatures, trainSet.labels, d, classes.length, c.ridge)
      if (!("weights" in probe)) return yield* probe
      predictions = probePredict(probe, testFeatures)
    }
    const { top1, perClass } = accuracyPerClass(predictions, testSet.labels, classes.length)
    yield* ctx.progress({ done: 3, total: 3, note: `${dataset}: ${protocol}` })
    const label = c.label === "" ? defaultLabel(distillation) : c.label
    const model = info.origin.kind === "pretrained" ? `${info.arch} ${info.origin.objective}` : name
    yield* ctx.log(
      `${NAME}: ${label} (${model}) on ${dataset}: ${protocol} top-1 ${(top1 * 100).toFixed(2)}%, k-NN top-1 ${((knn.top1 ?? 0) * 100).toFixed(2)}% ` +
        `(${trainSet.count} train / ${testSet.count} test images)`,
    )
    // Summary values (no epoch or step): `ssl-kd runs` shows them as headline metrics, metrics.csv lists them.
    yield* ctx.metric?.({ top1: top1 * 100, knnTop1: (knn.top1 ?? 0) * 100 }) ?? Effect.void
    return {
      label,
      model,
      dataset,
      classes,
      protocol,
      top1,
      perClass: [...perClass],
      knnTop1: knn.top1 ?? 0,
      trainImages: trainSet.count,
      testImages: testSet.count,
      seed: distillation.seed,
      trainingSeconds: distillation.seconds,
      seconds: (performance.now() - started) / 1000,
    } satisfies DownstreamScoreValue
  }).pipe(Effect.scoped)

/** A student on one downstream dataset: head or linear-probe top-1, per-class accuracy, k-NN top-1 (paper, Figure 3 / Table 2). */
export const evaluate = Stage.make({
  name: NAME,
  description: "a distilled student on one downstream dataset: head top-1 (same classes) or closed-form ridge linear probe, per-class accuracy, k-NN top-1",
  config: EvaluateConfig,
  inputs: { model: DistilledStudent },
  output: DownstreamScore,
  reads: (c) => [...splitFiles(c.dataset, "train"), ...splitFiles(c.dataset, "test")],
  run: ({ config, inputs }) => runEvaluate(config, inputs.model),
})
