/**
 * `DownstreamScore`: one model evaluated on one downstream dataset (a bar of
 * the paper's Figure 3, a cell of Table 2). Produced by `paper/evaluate`
 * (fanned out over datasets), read by `paper/report`.
 *
 * `protocol` says how `top1` was measured: `head` when the dataset is the one
 * the model's classification head was trained on (same classes, in order);
 * `linear-probe` otherwise (a linear classifier fitted on the model's frozen
 * features of the dataset's training images). `knnTop1` is k-NN on the same
 * frozen features, for every dataset, as a second, training-free measure.
 */
import { Schema } from "effect"
import { Artifact, Config } from "../../../dsl/index.ts"

const Count = Config.IntAtLeast(0)
const Unit = Config.UnitInterval

export const DownstreamScoreValue = Schema.Struct({
  /** Row label in the report (`ours`, `baseline`, `kd-dino`, ...), from the stage config or the model's record. */
  label: Schema.String,
  /** The model evaluated (architecture and origin, e.g. `vitMicroPatch7_28 joint distillation (eq. 4)`). */
  model: Schema.String,
  dataset: Schema.String,
  classes: Schema.Array(Schema.String),
  protocol: Schema.Literals(["head", "linear-probe"]),
  top1: Unit,
  /** Accuracy per class of the `top1` protocol, in `classes` order. */
  perClass: Schema.Array(Unit),
  knnTop1: Unit,
  trainImages: Count,
  testImages: Count,
  /** The model's training seed and the seconds its training took (from its artifact). */
  seed: Schema.Int,
  trainingSeconds: Schema.Finite,
  /** Seconds this evaluation took. */
  seconds: Schema.Finite,
})
export type DownstreamScoreValue = typeof DownstreamScoreValue.Type

export const DownstreamScore = Artifact.json("DownstreamScore", DownstreamScoreValue)
