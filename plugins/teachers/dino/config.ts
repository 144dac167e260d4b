/**
 * The DINO pretraining stage's settings, with DINO's defaults where they fit
 * a small model (Caron et al. 2021, sec. 3.1 and appendix; `main_dino.py`
 * arguments in brackets). Every loss and schedule constant comes from here.
 */
import { Schema } from "effect"
import { Config } from "../../../dsl/index.ts"
import { pretrainFields } from "../pretrainFields.ts"

const Int = Config.IntAtLeast
const Positive = Config.Positive
const NonNeg = Config.NonNegative
const Unit = Config.UnitInterval

export const DinoPretrainConfig = Schema.Struct({
  ...pretrainFields("dino"),
  /** Base lr at batch 256 [lr 5e-4], scaled by batchSize / 256; warm-up then cosine to minLr. */
  lr: Config.withDefault(Positive, 5e-4),
  minLr: Config.withDefault(NonNeg, 1e-6),
  warmupEpochs: Config.withDefault(Int(0), 1),
  /** Weight decay, cosine from weightDecay to weightDecayEnd [0.04 -> 0.4]. */
  weightDecay: Config.withDefault(NonNeg, 0.04),
  weightDecayEnd: Config.withDefault(NonNeg, 0.4),
  /** Per-parameter gradient norm clip [clip_grad 3.0]; 0 disables. */
  clipGrad: Config.withDefault(NonNeg, 3),
  /** Teacher EMA momentum, cosine from this to 1 [momentum_teacher 0.996]. */
  momentumTeacher: Config.withDefault(Unit, 0.996),
  /** Head: K prototypes [out_dim 65536], MLP hidden [2048], bottleneck [256], layers [3]. */
  outDim: Config.withDefault(Int(2), 1024),
  headHiddenDim: Config.withDefault(Int(1), 512),
  headBottleneckDim: Config.withDefault(Int(1), 128),
  headLayers: Config.withDefault(Int(1), 3),
  normLastLayer: Config.withDefault(Schema.Boolean, true),
  /** BatchNorm after the head's hidden Linear layers [use_bn_in_head false]. */
  headUseBn: Config.withDefault(Schema.Boolean, false),
  freezeLastLayerEpochs: Config.withDefault(Int(0), 1),
  /**
   * Sharpening: teacher temperature, linear warm-up from warmupTeacherTemp to
   * teacherTemp over the first warmupTeacherTempEpochs epochs (at most the
   * run's epochs), then constant; DINO's recipe for ViTs [0.04 -> 0.07 over
   * 30 epochs; the script's bare defaults are 0.04 -> 0.04]. Student
   * temperature [0.1].
   */
  warmupTeacherTemp: Config.withDefault(Positive, 0.04),
  teacherTemp: Config.withDefault(Positive, 0.07),
  warmupTeacherTempEpochs: Config.withDefault(Int(0), 30),
  studentTemp: Config.withDefault(Positive, 0.1),
  /** Centering: center EMA momentum [0.9]. */
  centerMomentum: Config.withDefault(Unit, 0.9),
  /** Multi-crop: global crop scale [0.4, 1], local crops [8] of localSize px (a multiple of the patch) at scale [0.05, 0.4]. */
  globalScaleMin: Config.withDefault(Unit, 0.4),
  localCrops: Config.withDefault(Int(0), 4),
  localSize: Config.withDefault(Int(1), 14),
  localScaleMin: Config.withDefault(Unit, 0.05),
  localScaleMax: Config.withDefault(Unit, 0.4),
  /** Photometric views: brightness/contrast jitter strength [0.4, p 0.8] on every view, solarization [p 0.2] of the second global view. */
  colorJitter: Config.withDefault(Unit, 0.4),
  solarize: Config.withDefault(Unit, 0.2),
})
export type DinoPretrainConfig = typeof DinoPretrainConfig.Type
