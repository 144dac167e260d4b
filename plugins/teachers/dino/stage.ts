/**
 * `teachers/pretrain-dino`: self-distillation with no labels (Caron et al.
 * 2021) of a ViT on a dataset's training images, from scratch: student and
 * momentum teacher with projection heads, centering and sharpening, DINO
 * multi-crop views, cosine schedules for learning rate, weight decay and
 * teacher momentum. Checkpoints every epoch into the stage's scratch folder
 * and resumes from it; the artifact holds the momentum teacher's backbone
 * (DINO evaluates the teacher) and the loss curves.
 */
import { Effect } from "effect"
import { Stage } from "../../../dsl/index.ts"
import { TensorBackend } from "../../../runtime/backend/TensorBackend.ts"
import { multiCrop } from "../../datasets/augment/augmentation.ts"
import { makeLoader } from "../../datasets/loader.ts"
import { TeacherWeights } from "../artifact.ts"
import { DEFAULT_PRETRAIN_ARCH, resolveArch } from "../architecture.ts"
import { StageConfigError } from "../../training/errors.ts"
import { runEpochs } from "../../training/epochs.ts"
import { runIdentity } from "../../training/resume.ts"
import { loadSplit, splitFiles } from "../../datasets/splits.ts"
import { pretrainedTeacher, trainingConfig } from "../pretrainFields.ts"
import { DinoPretrainConfig } from "./config.ts"
import { createDinoNetworks, dinoStateVars, disposeDinoNetworks } from "./networks.ts"
import { dinoSchedules, dinoStep } from "./step.ts"

const NAME = "teachers/pretrain-dino"

export const pretrainDino = Stage.make({
  name: NAME,
  description: "DINO self-distillation pretraining of a ViT teacher (contrastive family), resumable per epoch",
  config: DinoPretrainConfig,
  inputs: {},
  output: TeacherWeights,
  reads: (c) => splitFiles(c.dataset, "train"),
  run: ({ config: c }) =>
    Effect.gen(function* () {
      yield* TensorBackend
      const started = performance.now()
      const { spec, set } = yield* loadSplit(c.dataset, "train", c.trainCount)
      const { arch, config: target } = yield* resolveArch(DEFAULT_PRETRAIN_ARCH, c, set.channels)
      const vit = trainingConfig(target)
      const bad = (field: string, value: unknown, expected: string) =>
        new StageConfigError({ stage: NAME, field, value: JSON.stringify(value), expected })
      if (c.localSize % vit.patchSize !== 0) return yield* bad("localSize", c.localSize, `a multiple of the patch size ${vit.patchSize}`)
      if (c.localScaleMin > c.localScaleMax || c.localScaleMin <= 0) return yield* bad("localScaleMin", c.localScaleMin, `in (0, localScaleMax = ${c.localScaleMax}]`)
      if (set.count < c.batchSize) return yield* bad("batchSize", c.batchSize, `at most the ${set.count} training images`)
      if (c.warmupEpochs >= c.epochs) return yield* bad("warmupEpochs", c.warmupEpochs, `fewer than epochs (${c.epochs})`)
      const loader = yield* makeLoader(set, {
        batchSize: c.batchSize,
        normalization: spec.normalization,
        seed: c.seed,
        dropLast: true,
        augmentation: multiCrop({
          globalSize: vit.imgSize,
          globalScale: [c.globalScaleMin, 1],
          localSize: c.localSize,
          localScale: [c.localScaleMin, c.localScaleMax],
          localCrops: c.localCrops,
          jitter: c.colorJitter,
          solarize: c.solarize,
        }),
      })
      const itersPerEpoch = loader.batchesPerEpoch
      const schedules = dinoSchedules(c, itersPerEpoch)
      return yield* Effect.acquireUseRelease(
        Effect.sync(() => createDinoNetworks(arch, vit, c)),
        (n) =>
          Effect.gen(function* () {
            const result = yield* runEpochs({
              stage: NAME,
              run: runIdentity(NAME, c),
              vars: dinoStateVars(n),
              epochs: c.epochs,
              stepsPerEpoch: itersPerEpoch,
              step: (epoch, index, globalStep) => dinoStep(n, c, loader.batch(epoch, index).views, epoch, globalStep, schedules),
            })
            return pretrainedTeacher({ stage: NAME, objective: "dino", teacher: c.teacher, family: "contrastive", arch, config: target, spec, set, epochs: c.epochs, result, model: n.teacher, started })
          }),
        (n) => Effect.sync(() => disposeDinoNetworks(n)),
      )
    }),
})
