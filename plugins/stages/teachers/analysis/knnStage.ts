/**
 * `teachers/knn`: the quality of an SSL teacher without labels in training
 * (Caron et al. 2021, sec. 4.1): frozen features of a labeled downstream
 * set, each test image classified by a weighted vote of its k nearest
 * training images (cosine similarity, k = 20, T = 0.07; `knnClassify`), top-1.
 */
import * as tf from "@tensorflow/tfjs-core"
import { Effect, Schema } from "effect"
import { Artifact, Config, Stage, StageContext } from "../../../../dsl/index.ts"
import { TensorBackend } from "../../../../runtime/backend/TensorBackend.ts"
import { knnClassify } from "../../../analysis/knn.ts"
import { disposeVit } from "../../../models/vit/model.ts"
import { modelFromWeights, TeacherWeights } from "../../../teachers/artifact.ts"
import { openSplit } from "../../../datasets/source.ts"
import { splitFiles } from "../../../datasets/splits.ts"
import { extractFeatures } from "./features.ts"
import { teacherSource } from "../../../teachers/inputs.ts"

const Count = Config.IntAtLeast(0)

export const KnnReport = Artifact.json(
  "KnnReport",
  Schema.Struct({
    teacher: Schema.String,
    family: Schema.String,
    dataset: Schema.String,
    pooling: Schema.String,
    k: Schema.Int,
    temperature: Schema.Finite,
    trainImages: Schema.Int,
    testImages: Schema.Int,
    top1: Schema.Finite,
    seconds: Schema.Finite,
  }),
)

export const knnEvaluate = Stage.make({
  name: "teachers/knn",
  description: "k-NN top-1 of a teacher's frozen features on a labeled downstream set",
  config: Schema.Struct({
    dataset: Config.withDefault(Schema.String, "fashion-mnist"),
    /** First N images of each split (0: all). */
    trainCount: Config.withDefault(Count, 0),
    testCount: Config.withDefault(Count, 0),
    k: Config.withDefault(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)), 20),
    temperature: Config.withDefault(Schema.Finite.check(Schema.isGreaterThan(0)), 0.07),
    pooling: Config.withDefault(Schema.Literals(["cls", "mean-patch"]), "cls"),
    batchSize: Config.withDefault(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)), 128),
  }),
  inputs: { teacher: TeacherWeights },
  output: KnnReport,
  reads: (c) => [...splitFiles(c.dataset, "train"), ...splitFiles(c.dataset, "test")],
  run: ({ config: c, inputs }) =>
    Effect.gen(function* () {
      yield* TensorBackend
      const ctx = yield* StageContext
      const started = performance.now()
      const info = inputs.teacher.info
      const train = yield* openSplit(c.dataset, "train", c.trainCount)
      const test = yield* openSplit(c.dataset, "test", c.testCount)
      const top1 = yield* Effect.acquireUseRelease(
        modelFromWeights(inputs.teacher),
        (model) =>
          Effect.gen(function* () {
            const d = model.config.embedDim
            const trainFeats = yield* extractFeatures(model, info, yield* teacherSource("teachers/knn", train, info, c.batchSize), train.meta.count, c.pooling)
            const testFeats = yield* extractFeatures(model, info, yield* teacherSource("teachers/knn", test, info, c.batchSize), test.meta.count, c.pooling)
            const result = yield* Effect.acquireUseRelease(
              Effect.sync(() => [tf.tensor2d(trainFeats, [train.meta.count, d]), tf.tensor2d(testFeats, [test.meta.count, d])] as const),
              ([trainFeatures, testFeatures]) =>
                knnClassify(
                  { trainFeatures, trainLabels: train.meta.labels, testFeatures, testLabels: test.meta.labels },
                  { numClasses: train.meta.classes.length, k: c.k, temperature: c.temperature },
                ),
              (ts) => Effect.sync(() => tf.dispose([...ts])),
            )
            return result.top1 ?? 0
          }),
        (model) => Effect.sync(() => disposeVit(model)),
      )
      yield* ctx.log(`${info.teacher} (${info.family}): k-NN top-1 ${(top1 * 100).toFixed(2)}% on ${test.meta.count} ${train.spec.name} test images`)
      return {
        teacher: info.teacher,
        family: info.family,
        dataset: train.spec.name,
        pooling: c.pooling,
        k: c.k,
        temperature: c.temperature,
        trainImages: train.meta.count,
        testImages: test.meta.count,
        top1,
        seconds: (performance.now() - started) / 1000,
      }
    }).pipe(Effect.scoped),
})
