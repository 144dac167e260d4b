/**
 * `teachers/pretrain-mae`: masked-autoencoder pretraining (He et al. 2022) of
 * a ViT on a dataset's training images, from scratch: random masking of 75 %
 * of the patches, the encoder on the visible patches only, a light decoder,
 * the loss on normalized pixels of the masked patches. Checkpoints every
 * epoch into the stage's scratch folder and resumes from it; the artifact
 * holds the encoder (the teacher) and the loss curves.
 */
import { Effect } from "effect"
import { Stage } from "../../../dsl/index.ts"
import { TensorBackend } from "../../../runtime/backend/TensorBackend.ts"
import { masked } from "../../datasets/augment/augmentation.ts"
import { makeLoader } from "../../datasets/loader.ts"
import { cosineSchedule } from "../../objectives/schedules.ts"
import { TeacherWeights } from "../artifact.ts"
import { DEFAULT_PRETRAIN_ARCH, resolveArch } from "../architecture.ts"
import { StageConfigError } from "../../training/errors.ts"
import { runEpochs } from "../../training/epochs.ts"
import { runIdentity } from "../../training/resume.ts"
import { loadSplit, splitFiles } from "../../datasets/splits.ts"
import { pretrainedTeacher, trainingConfig } from "../pretrainFields.ts"
import { MaePretrainConfig } from "./config.ts"
import { createMaeNetworks, disposeMaeNetworks, maeStateVars } from "./networks.ts"
import { maeStep } from "./step.ts"

const NAME = "teachers/pretrain-mae"

export const pretrainMae = Stage.make({
  name: NAME,
  description: "MAE masked-image-modeling pretraining of a ViT teacher, resumable per epoch",
  config: MaePretrainConfig,
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
      if (vit.embedDim % 4 !== 0) return yield* bad("embedDim", vit.embedDim, "a multiple of 4 (MAE's 2-D sin-cos position embedding)")
      if (c.decoderDim % 4 !== 0) return yield* bad("decoderDim", c.decoderDim, "a multiple of 4 (MAE's 2-D sin-cos position embedding)")
      if (c.decoderDim % c.decoderHeads !== 0) return yield* bad("decoderDim", c.decoderDim, `a multiple of decoderHeads ${c.decoderHeads}`)
      if (set.count < c.batchSize) return yield* bad("batchSize", c.batchSize, `at most the ${set.count} training images`)
      if (c.warmupEpochs >= c.epochs) return yield* bad("warmupEpochs", c.warmupEpochs, `fewer than epochs (${c.epochs})`)
      const loader = yield* makeLoader(set, {
        batchSize: c.batchSize,
        normalization: spec.normalization,
        seed: c.seed,
        dropLast: true,
        augmentation: masked({ size: vit.imgSize, patchSize: vit.patchSize, maskRatio: c.maskRatio, scale: [c.cropScaleMin, 1] }),
      })
      const numMasked = loader.batch(0, 0).mask?.numMasked ?? 0
      if (numMasked < 1) return yield* bad("maskRatio", c.maskRatio, "a ratio that masks at least one patch")
      const itersPerEpoch = loader.batchesPerEpoch
      const lr = cosineSchedule(
        { base: (c.lr * c.batchSize) / 256, final: c.minLr, epochs: c.epochs, itersPerEpoch, warmupEpochs: c.warmupEpochs },
        "learning rate",
      )
      return yield* Effect.acquireUseRelease(
        Effect.sync(() => createMaeNetworks(arch, vit, c)),
        (n) =>
          Effect.gen(function* () {
            const result = yield* runEpochs({
              stage: NAME,
              run: runIdentity(NAME, c),
              vars: maeStateVars(n),
              epochs: c.epochs,
              stepsPerEpoch: itersPerEpoch,
              step: (epoch, index, globalStep) => maeStep(n, c, loader.batch(epoch, index), globalStep, lr),
            })
            return pretrainedTeacher({ stage: NAME, objective: "mae", teacher: c.teacher, family: "masked-image-modeling", arch, config: target, spec, set, epochs: c.epochs, result, model: n.encoder, started })
          }),
        (n) => Effect.sync(() => disposeMaeNetworks(n)),
      )
    }),
})
