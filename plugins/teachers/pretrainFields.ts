/**
 * What every SSL pretraining stage shares (DINO, MAE, a user's own): the
 * config fields (the teacher name recorded in the artifact, the data, the
 * seed, the backbone and the epoch/batch budget; each stage adds its
 * objective's own) and the `TeacherWeights` value it returns.
 */
import { Schema } from "effect"
import { Config } from "../../dsl/index.ts"
import { type FloatTensor, poolingFilter } from "../checkpoints/timmFilter.ts"
import type { ImageSet } from "../datasets/ImageSet.ts"
import type { DatasetSpec } from "../datasets/spec.ts"
import type { VitConfig } from "../models/vit/config.ts"
import type { VitModel } from "../models/vit/model.ts"
import { modelState, type TeacherInfo, type TeacherWeightsValue } from "./artifact.ts"
import { archFields } from "./architecture.ts"
import type { EpochLoopResult } from "../training/epochs.ts"

export const pretrainFields = (teacher: string) => ({
  /** Name recorded in the artifact (a user's teacher may reuse this stage). */
  teacher: Config.withDefault(Schema.String, teacher),
  dataset: Config.withDefault(Schema.String, "fashion-mnist"),
  /** First N training images (0: all). */
  trainCount: Config.withDefault(Config.IntAtLeast(0), 0),
  seed: Config.withDefault(Schema.Int, 0),
  ...archFields,
  epochs: Config.withDefault(Config.IntAtLeast(1), 10),
  batchSize: Config.withDefault(Config.IntAtLeast(1), 64),
})

/**
 * The pretrained backbone `model` as the stage's artifact, with how it was
 * trained (origin, loss curves, time since `started`). `config` is the
 * artifact's (the stage's `globalPool` included); the model trains with the
 * class-token layout (a final `norm`, as DINO's and MAE's encoders), so for
 * `globalPool: "avg"` the state is converted as MAE fine-tuning loads it:
 * `norm` dropped, `fc_norm` = 1 / 0 (`poolingFilter`).
 */
export const pretrainedTeacher = (o: {
  readonly stage: string
  readonly objective: string
  readonly teacher: string
  readonly family: TeacherInfo["family"]
  readonly arch: string
  readonly config: VitConfig
  readonly spec: DatasetSpec
  readonly set: ImageSet
  readonly epochs: number
  readonly result: EpochLoopResult
  readonly model: VitModel
  readonly started: number
}): TeacherWeightsValue => ({
  info: {
    teacher: o.teacher,
    family: o.family,
    arch: o.arch,
    config: o.config,
    normalization: { mean: [...o.spec.normalization.mean], std: [...o.spec.normalization.std] },
    origin: {
      kind: "pretrained",
      objective: o.objective,
      stage: o.stage,
      dataset: o.spec.name,
      images: o.set.count,
      epochs: o.epochs,
      epochsRunHere: o.result.epochsRunHere,
      seconds: (performance.now() - o.started) / 1000,
    },
    losses: { epochs: o.result.epochLosses, steps: o.result.stepLosses },
  },
  state: pooledState(modelState(o.model), o.config),
})

const pooledState = (state: ReadonlyMap<string, FloatTensor>, config: VitConfig): ReadonlyMap<string, FloatTensor> => {
  const out = new Map(state)
  poolingFilter(out, config)
  return out
}

/** The config a pretraining trains: the artifact's, with the class-token layout (see {@link pretrainedTeacher}). */
export const trainingConfig = (config: VitConfig): VitConfig => ({ ...config, globalPool: "token" })
