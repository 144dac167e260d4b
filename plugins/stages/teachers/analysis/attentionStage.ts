/**
 * `teachers/attention-distance`: the measure of the paper's Figure 1 for one
 * teacher: per layer and head, the mean attention distance in pixels
 * (Σ_k A(q, k) · dist(q, k), averaged over query patches and images;
 * `AttentionDistanceMeter`, class token excluded and rows renormalized),
 * over the first `testCount` test images (streamed for a streamed split,
 * `datasets/source.ts`).
 */
import * as tf from "@tensorflow/tfjs-core"
import { Effect, Schema } from "effect"
import { Artifact, Config, Stage } from "../../../../dsl/index.ts"
import { TensorBackend } from "../../../../runtime/backend/TensorBackend.ts"
import { AttentionDistanceMeter } from "../../../analysis/attentionDistance.ts"
import { forwardIntermediates } from "../../../models/vit/forward.ts"
import { disposeVit } from "../../../models/vit/model.ts"
import { modelFromWeights, TeacherWeights } from "../../../teachers/artifact.ts"
import { TrainingStepError } from "../../../training/errors.ts"
import { openSplit } from "../../../datasets/source.ts"
import { splitFiles } from "../../../datasets/splits.ts"
import { teacherInput, teacherSource } from "../../../teachers/inputs.ts"

export const AttentionDistances = Artifact.json(
  "AttentionDistances",
  Schema.Struct({
    teacher: Schema.String,
    family: Schema.String,
    patchSize: Schema.Int,
    /** Block index (0-based) of each row. */
    layers: Schema.Array(Schema.Int),
    perHead: Schema.Array(Schema.Array(Schema.Finite)),
    mean: Schema.Array(Schema.Finite),
    images: Schema.Int,
  }),
)

export const attentionDistance = Stage.make({
  name: "teachers/attention-distance",
  description: "mean attention distance per layer and head of a teacher (paper, Figure 1)",
  config: Schema.Struct({
    dataset: Config.withDefault(Schema.String, "fashion-mnist"),
    /** First N test images (0: all). */
    testCount: Config.withDefault(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)), 256),
    batchSize: Config.withDefault(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)), 32),
  }),
  inputs: { teacher: TeacherWeights },
  output: AttentionDistances,
  reads: (c) => splitFiles(c.dataset, "test"),
  run: ({ config: c, inputs }) =>
    Effect.gen(function* () {
      yield* TensorBackend
      const info = inputs.teacher.info
      const data = yield* openSplit(c.dataset, "test", c.testCount)
      const loader = yield* teacherSource("teachers/attention-distance", data, info, c.batchSize)
      const meter = new AttentionDistanceMeter({ patchSize: info.config.patchSize })
      yield* Effect.acquireUseRelease(
        modelFromWeights(inputs.teacher),
        (model) =>
          Effect.gen(function* () {
            for (let b = 0; b < loader.batchesPerEpoch; b++) {
              const batch = yield* loader.batch(0, b)
              const maps = tf.tidy(() =>
                forwardIntermediates(model, teacherInput(batch.images, info), { attention: true }).intermediates.flatMap((m) =>
                  m.attn === undefined ? [] : [{ layer: m.block, attn: tf.keep(m.attn) }],
                ),
              )
              yield* Effect.tryPromise({
                try: () => meter.add(maps),
                catch: (e) => new TrainingStepError({ stage: "teachers/attention-distance", epoch: 0, step: b, reason: e instanceof Error ? e.message : String(e) }),
              }).pipe(Effect.ensuring(Effect.sync(() => tf.dispose(maps.map((m) => m.attn)))))
            }
          }),
        (model) => Effect.sync(() => disposeVit(model)),
      )
      const r = meter.result()
      return { teacher: info.teacher, family: info.family, patchSize: info.config.patchSize, ...r, layers: [...r.layers], perHead: r.perHead.map((h) => [...h]), mean: [...r.mean] }
    }).pipe(Effect.scoped),
})
