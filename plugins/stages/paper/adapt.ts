/**
 * `paper/adapt-teacher`: the paper's sec. 3.1. A pretrained SSL teacher gets
 * a fresh classification head for the downstream classes, and the parameters
 * of one adaptation mode are trained with cross-entropy on the labeled
 * training split, the rest frozen (bit-identical):
 *
 * - `linear`: the head only (linear evaluation);
 * - `partial-1` / `partial-k`: the head, the last 1 / k blocks and the final
 *   norm (Partial-1 is the paper's choice: near fine-tuning accuracy at a
 *   fraction of the trainable parameters, Table 1);
 * - `full`: every parameter (fine-tuning).
 *
 * AdamW (decoupled weight decay on weights, not biases or norms) with a
 * cosine learning rate after an optional linear warm-up, random resized crop
 * + flip (seeded), checkpointed every epoch in the scratch folder and resumed
 * from it. The trainable-parameter count is logged, as Table 1 reports it.
 * A split whose reader streams (the `imagenet` entry) is streamed, for the
 * training batches and the train top-1 (`openSplit`, `datasets/source.ts`).
 *
 * Partial-k without augmentation can skip the frozen blocks altogether:
 * `paper/trunk-features` + `paper/adapt-teacher-cached` (`trunk.ts`).
 */
import type * as tf from "@tensorflow/tfjs-core"
import { Effect, Schema } from "effect"
import { Config, Stage, StageContext } from "../../../dsl/index.ts"
import { TensorBackend } from "../../../runtime/backend/TensorBackend.ts"
import { loadVitState } from "../../checkpoints/vitCheckpoint.ts"
import { createVit, disposeVit, type VitModel } from "../../models/vit/model.ts"
import { cosineSchedule } from "../../objectives/schedules.ts"
import { modelState, type TeacherInfo, TeacherWeights, type TeacherWeightsValue } from "../../teachers/artifact.ts"
import { StageConfigError } from "../../training/errors.ts"
import { AdamW } from "../../training/adamw.ts"
import { runEpochs } from "../../training/epochs.ts"
import { type AdaptationMode, adaptationName, adaptationParams, parseAdaptationMode } from "../../training/partial.ts"
import { runIdentity } from "../../training/resume.ts"
import { teacherSource } from "../../teachers/inputs.ts"
import { openSplit } from "../../datasets/source.ts"
import { splitFiles } from "../../datasets/splits.ts"
import { AdaptedTeacher } from "./artifact.ts"
import { adaptStep, top1, trainSource } from "./adaptStep.ts"

const NAME = "paper/adapt-teacher"

const Int = Config.IntAtLeast
const NonNeg = Config.NonNegative

/** Settings of {@link adaptTeacher}; the class count comes from the dataset. */
export const AdaptConfig = Schema.Struct({
  dataset: Config.withDefault(Schema.String, "fashion-mnist"),
  /** First N training images (0: all). */
  trainCount: Config.withDefault(Int(0), 0),
  /** Which parameters train (sec. 3.1); `partial-k` takes k from `k`. */
  mode: Config.withDefault(Schema.Literals(["linear", "partial-1", "partial-k", "full"]), "partial-1"),
  /** Blocks trained under `partial-k` (1 <= k <= the teacher's depth). */
  k: Config.withDefault(Int(1), 1),
  epochs: Config.withDefault(Int(1), 10),
  batchSize: Config.withDefault(Int(1), 64),
  /** Peak learning rate (not scaled by the batch size). */
  lr: Config.withDefault(Schema.Finite.check(Schema.isGreaterThan(0)), 1e-3),
  warmupEpochs: Config.withDefault(Int(0), 0),
  weightDecay: Config.withDefault(NonNeg, 0.05),
  /** Random resized crop area fraction [cropScaleMin, 1] (torchvision: 0.08) and flip probability. */
  cropScaleMin: Config.withDefault(Schema.Finite.check(Schema.isGreaterThan(0), Schema.isLessThanOrEqualTo(1)), 0.08),
  flip: Config.withDefault(Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 })), 0.5),
  /** Seeds the new head, the batch order and the augmentation. */
  seed: Config.withDefault(Schema.Int, 0),
})
export type AdaptConfig = typeof AdaptConfig.Type

/**
 * The model a teacher is adapted in: the backbone as pretrained, the head
 * (absent from a TeacherWeights, or replaced) fresh from `seed` for the
 * `info.config.numClasses` classes. Dispose with `disposeVit`. Shared with
 * `paper/adapt-teacher-cached` (`trunk.ts`).
 */
export const adaptedModel = (teacher: TeacherWeightsValue, info: TeacherInfo, seed: number) =>
  Effect.suspend(() => {
    const backbone = new Map([...teacher.state].filter(([name]) => !name.startsWith("head.")))
    const model = createVit(info.arch, info.config, seed)
    return loadVitState(model, backbone, `TeacherWeights of ${teacher.info.teacher}`, { keepHead: true }).pipe(
      Effect.as(model),
      Effect.tapError(() => Effect.sync(() => disposeVit(model))),
    )
  })

/** One adaptation run, as both adapt stages do it (`paper/adapt-teacher`, `paper/adapt-teacher-cached`). */
export interface AdaptationRun<B, E> {
  readonly stage: string
  readonly teacher: TeacherWeightsValue
  /** The teacher's info with `numClasses` set to the task's classes. */
  readonly info: TeacherInfo
  readonly mode: AdaptationMode
  readonly recipe: Pick<AdaptConfig, "epochs" | "lr" | "warmupEpochs" | "weightDecay" | "seed">
  /** What resuming must match besides the recipe (see `runIdentity`). */
  readonly identity: Readonly<Record<string, unknown>>
  readonly data: { readonly dataset: string; readonly classes: ReadonlyArray<string>; readonly images: number }
  readonly stepsPerEpoch: number
  /** Added to the log lines: after the trainable count, and inside the train top-1 line's parentheses. */
  readonly notes?: { readonly count?: string; readonly accuracy?: string }
  /** The batch of step (epoch, index), fetched before the step (a streamed source decodes it here, in order). */
  readonly fetch: (epoch: number, index: number) => Effect.Effect<B, E>
  /** One optimizer step on `batch` at learning rate `lr`; returns the loss. */
  readonly step: (model: VitModel, params: ReadonlyMap<string, tf.Variable>, optimizer: AdamW, batch: B, lr: number) => number
  /** Top-1 on the training images after training. */
  readonly trainAccuracy: (model: VitModel) => Effect.Effect<number, E>
  /** \`performance.now()\` when the stage started (the record's seconds count from it). */
  readonly started: number
}

/**
 * The model with a fresh head, the mode's parameters trained by AdamW under a
 * cosine schedule (resumable per epoch), then scored on the training images:
 * the `AdaptedTeacher` value both adapt stages return.
 */
export const runAdaptation = <B, E>(o: AdaptationRun<B, E>) =>
  Effect.gen(function* () {
    const ctx = yield* StageContext
    const { recipe: c, info } = o
    const lr = cosineSchedule({ base: c.lr, final: 0, epochs: c.epochs, itersPerEpoch: o.stepsPerEpoch, warmupEpochs: c.warmupEpochs }, "learning rate")
    return yield* Effect.acquireUseRelease(
      adaptedModel(o.teacher, info, c.seed),
      (model) =>
        Effect.gen(function* () {
          const { params, count } = adaptationParams(model, o.mode)
          yield* ctx.log(
            `${info.teacher}: ${count.mode} trains ${count.trainable.toLocaleString("en-US")} of ${count.total.toLocaleString("en-US")} parameters ` +
              `(${((100 * count.trainable) / count.total).toFixed(2)}%) for ${o.data.classes.length} classes${o.notes?.count ?? ""}`,
          )
          const optimizer = new AdamW(params)
          const result = yield* runEpochs({
            stage: o.stage,
            run: runIdentity(o.stage, o.identity),
            vars: new Map([...params, ...optimizer.state()]),
            epochs: c.epochs,
            stepsPerEpoch: o.stepsPerEpoch,
            fetch: o.fetch,
            step: (_epoch, _index, globalStep, batch) => o.step(model, params, optimizer, batch, lr.at(globalStep)),
          }).pipe(Effect.ensuring(Effect.sync(() => optimizer.dispose())))
          const trainAccuracy = yield* o.trainAccuracy(model)
          yield* ctx.log(
            `${info.teacher} (${adaptationName(o.mode)}${o.notes?.accuracy ?? ""}): train top-1 ${(trainAccuracy * 100).toFixed(2)}% on ${o.data.images} ${o.data.dataset} images`,
          )
          return {
            info,
            state: modelState(model),
            adaptation: {
              mode: count.mode,
              dataset: o.data.dataset,
              classes: [...o.data.classes],
              images: o.data.images,
              epochs: c.epochs,
              epochsRunHere: result.epochsRunHere,
              trainable: count.trainable,
              total: count.total,
              losses: { epochs: [...result.epochLosses], steps: [...result.stepLosses] },
              trainAccuracy,
              seed: c.seed,
              seconds: (performance.now() - o.started) / 1000,
            },
          }
        }),
      (model) => Effect.sync(() => disposeVit(model)),
    )
  })

export const adaptTeacher = Stage.make({
  name: NAME,
  description: "a teacher on a downstream task by linear / partial-k / full adaptation (paper, sec. 3.1), resumable per epoch",
  config: AdaptConfig,
  inputs: { teacher: TeacherWeights },
  output: AdaptedTeacher,
  reads: (c) => splitFiles(c.dataset, "train"),
  run: ({ config: c, inputs }) =>
    Effect.gen(function* () {
      yield* TensorBackend
      const started = performance.now()
      const source = inputs.teacher.info
      const data = yield* openSplit(c.dataset, "train", c.trainCount)
      const { spec, meta } = data
      const bad = (field: string, value: unknown, expected: string) =>
        new StageConfigError({ stage: NAME, field, value: JSON.stringify(value), expected })
      const depth = source.config.depth
      const mode = parseAdaptationMode(c.mode === "partial-k" ? `partial-${c.k}` : c.mode, depth)
      if ("_tag" in mode) return yield* bad("k", c.k, `1 <= k <= ${depth} (the depth of teacher ${source.teacher})`)
      if (meta.classes.length < 1) return yield* bad("dataset", spec.name, "a labeled dataset with at least one class")
      if (meta.count < c.batchSize) return yield* bad("batchSize", c.batchSize, `at most the ${meta.count} training images`)
      if (c.warmupEpochs >= c.epochs) return yield* bad("warmupEpochs", c.warmupEpochs, `fewer than epochs (${c.epochs})`)
      const info = { ...source, config: { ...source.config, numClasses: meta.classes.length } }
      const batches = yield* trainSource(NAME, data, info, c)
      const evalBatches = yield* teacherSource(NAME, data, info, c.batchSize)
      return yield* runAdaptation({
        stage: NAME,
        teacher: inputs.teacher,
        info,
        mode,
        recipe: c,
        identity: { ...c, teacher: source.teacher, arch: source.arch },
        data: { dataset: spec.name, classes: meta.classes, images: meta.count },
        stepsPerEpoch: batches.batchesPerEpoch,
        fetch: batches.batch,
        step: (model, params, optimizer, batch, lr) => adaptStep(model, params, optimizer, info, batch, lr, c.weightDecay),
        // The training stream's last batch is dropped before the train top-1 streams the split again.
        trainAccuracy: (model) => Effect.andThen(batches.release, top1(model, info, evalBatches)),
        started,
      })
    }).pipe(Effect.scoped),
})
