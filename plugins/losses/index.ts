/**
 * Distillation losses: a registry of losses by key, composed as a weighted
 * sum from config, each returning its components for logging. The paper's
 * eq. 1 (`kd-output`), eq. 3 (`kd-attention`) and eq. 4 (`jointLoss`), plus
 * `ce`, DeiT's `kd-hard` and `kd-feature`.
 *
 * @example
 * const loss = yield* composeLosses(losses, [
 *   { key: "ce" },
 *   { key: "kd-output", weight: 1, params: { lambda: 0.5, temperature: 1 } },
 * ])
 * const { value, grads } = tf.variableGrads(() => loss.compute({ labels, outputs: { student, cl, mim } }).total)
 */
export { losses, Losses } from "./builtins.ts"
export { ceLoss, crossEntropy, type CrossEntropyOptions } from "./ce.ts"
export { type CompositeLoss, componentValues, composeLosses, LossTerm, LossTerms } from "./compose.ts"
export {
  AttentionTokenMismatch,
  InvalidLossConfig,
  LabelOutOfRange,
  LossShapeMismatch,
  MissingLossInput,
} from "./errors.ts"
export { jointLoss, type JointLossOptions, jointLossTerms } from "./joint.ts"
export { attentionKl, kdAttention, kdAttentionLoss, type KdAttentionOptions } from "./kdAttention.ts"
export { featureDistillation, type FeatureDistance, kdFeatureLoss } from "./kdFeature.ts"
export { hardDistillation, kdHardLoss } from "./kdHard.ts"
export { kdOutput, kdOutputLoss, type KdOutputOptions, softTargetKl } from "./kdOutput.ts"
export { defineLoss, type LossEntry, type LossFn, type LossInputs, type LossResult, type ModelOutputs } from "./loss.ts"
export { type LossRegistry, makeLossRegistry } from "./registry.ts"
