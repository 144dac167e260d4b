/**
 * The MAE pretraining stage's settings, with MAE's defaults where they fit a
 * small model (He et al. 2022, sec. 3 and appendix A.1; `main_pretrain.py`
 * arguments in brackets). Every loss and schedule constant comes from here.
 */
import { Schema } from "effect"
import { Config } from "../../../../dsl/index.ts"
import { archFields } from "../../../teachers/architecture.ts"

const Int = (min: number) => Schema.Int.check(Schema.isGreaterThanOrEqualTo(min))
const Positive = Schema.Finite.check(Schema.isGreaterThan(0))
const NonNeg = Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))
const Unit = Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 }))

export const MaePretrainConfig = Schema.Struct({
  /** Name recorded in the artifact (a user's teacher may reuse this stage). */
  teacher: Config.withDefault(Schema.String, "mae"),
  dataset: Config.withDefault(Schema.String, "fashion-mnist"),
  /** First N training images (0: all). */
  trainCount: Config.withDefault(Int(0), 0),
  seed: Config.withDefault(Schema.Int, 0),
  ...archFields,
  epochs: Config.withDefault(Int(1), 10),
  batchSize: Config.withDefault(Int(1), 64),
  /** Fraction of patches removed [mask_ratio 0.75]. */
  maskRatio: Config.withDefault(Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 0.99 })), 0.75),
  /** Random resized crop scale [0.2, 1] of the input. */
  cropScaleMin: Config.withDefault(Unit, 0.2),
  /** Light decoder [decoder_embed_dim 512, decoder_depth 8, heads 16]. */
  decoderDim: Config.withDefault(Int(1), 64),
  decoderDepth: Config.withDefault(Int(1), 2),
  decoderHeads: Config.withDefault(Int(1), 4),
  /** Loss on per-patch normalized pixels [norm_pix_loss]. */
  normPixLoss: Config.withDefault(Schema.Boolean, true),
  /** Base lr at batch 256 [blr 1.5e-4], scaled by batchSize / 256; warm-up then cosine to minLr. */
  lr: Config.withDefault(Positive, 1.5e-4),
  minLr: Config.withDefault(NonNeg, 0),
  warmupEpochs: Config.withDefault(Int(0), 1),
  /** AdamW weight decay [0.05] and betas [0.9, 0.95]. */
  weightDecay: Config.withDefault(NonNeg, 0.05),
  beta2: Config.withDefault(Unit, 0.95),
})
export type MaePretrainConfig = typeof MaePretrainConfig.Type
