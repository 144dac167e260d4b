/**
 * `paper/evaluate-teacher`: one cell of the paper's Table 1, the top-1 of an
 * adapted teacher's head on the downstream test split (un-augmented, the
 * whole image at the teacher's input size; a streamed split, e.g. `imagenet`:
 * the shorter side to size / cropPct and the centre crop, `datasets/source.ts`),
 * beside the mode and the trainable-parameter count of its adaptation (sec. 3.1).
 */
import { Effect, Schema } from "effect"
import { Artifact, Config, Stage, StageContext } from "../../../dsl/index.ts"
import { TensorBackend } from "../../../runtime/backend/TensorBackend.ts"
import { disposeVit } from "../../models/vit/model.ts"
import { modelFromWeights } from "../../teachers/artifact.ts"
import { StageConfigError } from "../../training/errors.ts"
import { teacherSource } from "../../teachers/inputs.ts"
import { openSplit } from "../../datasets/source.ts"
import { splitFiles } from "../../datasets/splits.ts"
import { top1 } from "./adaptStep.ts"
import { AdaptedTeacher } from "./artifact.ts"

const NAME = "paper/evaluate-teacher"

/** A row of Table 1: teacher, mode, trainable parameters, top-1 (test) and top-1 (train). */
export const AdaptationScore = Artifact.json(
  "AdaptationScore",
  Schema.Struct({
    teacher: Schema.String,
    family: Schema.String,
    mode: Schema.String,
    trainable: Schema.Int,
    total: Schema.Int,
    dataset: Schema.String,
    testImages: Schema.Int,
    top1: Schema.Finite,
    trainTop1: Schema.Finite,
    /** The adaptation's seed and the seconds it took (from the adapted teacher's record). */
    seed: Schema.Int,
    adaptationSeconds: Schema.Finite,
  }),
)

export const evaluateTeacher = Stage.make({
  name: NAME,
  description: "test top-1 of an adapted teacher's head (a cell of the paper's Table 1)",
  config: Schema.Struct({
    dataset: Config.withDefault(Schema.String, "fashion-mnist"),
    /** First N test images (0: all). */
    testCount: Config.withDefault(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)), 0),
    batchSize: Config.withDefault(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)), 128),
  }),
  inputs: { teacher: AdaptedTeacher },
  output: AdaptationScore,
  reads: (c) => splitFiles(c.dataset, "test"),
  run: ({ config: c, inputs }) =>
    Effect.gen(function* () {
      yield* TensorBackend
      const ctx = yield* StageContext
      const { info, adaptation } = inputs.teacher
      const data = yield* openSplit(c.dataset, "test", c.testCount)
      const { spec, meta: set } = data
      const same = set.classes.length === adaptation.classes.length && set.classes.every((name, i) => name === adaptation.classes[i])
      if (!same) {
        return yield* new StageConfigError({ stage: NAME, field: "dataset", value: JSON.stringify(spec.name), expected: `a test split with the classes the head was trained on (${adaptation.dataset}: ${adaptation.classes.join(", ")})` })
      }
      const batches = yield* teacherSource(NAME, data, info, c.batchSize)
      const accuracy = yield* Effect.acquireUseRelease(
        modelFromWeights(inputs.teacher),
        (model) => top1(model, info, batches),
        (model) => Effect.sync(() => disposeVit(model)),
      )
      yield* ctx.metric?.({ top1: accuracy * 100 }) ?? Effect.void
      yield* ctx.log(`${info.teacher} ${adaptation.mode} (${adaptation.trainable.toLocaleString("en-US")} trainable): test top-1 ${(accuracy * 100).toFixed(2)}% on ${set.count} ${spec.name} images`)
      return {
        teacher: info.teacher,
        family: info.family,
        mode: adaptation.mode,
        trainable: adaptation.trainable,
        total: adaptation.total,
        dataset: spec.name,
        testImages: set.count,
        top1: accuracy,
        trainTop1: adaptation.trainAccuracy,
        seed: adaptation.seed,
        adaptationSeconds: adaptation.seconds,
      }
    }).pipe(Effect.scoped),
})
