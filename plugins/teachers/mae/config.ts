/**
 * The MAE pretraining stage's settings, with MAE's defaults where they fit a
 * small model (He et al. 2022, sec. 3 and appendix A.1; `main_pretrain.py`
 * arguments in brackets). Every loss and schedule constant comes from here.
 */
import { Schema } from "effect"
import { Config } from "../../../dsl/index.ts"
import { pretrainFields } from "../pretrainFields.ts"

const Int = Config.IntAtLeast
const Positive = Config.Positive
const NonNeg = Config.NonNegative
const Unit = Config.UnitInterval

export const MaePretrainConfig = Schema.Struct({
  ...pretrainFields("mae"),
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
