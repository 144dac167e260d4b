/**
 * Models: a timm-shaped ViT in tfjs, its named variants and the registry.
 *
 * @example
 * const model = yield* models.create("vitTinyPatch4_28", { numClasses: 10 })
 * const logits = tf.tidy(() => forward(model, images))
 */
export { InvalidInputShape, InvalidModelConfig } from "./errors.ts"
export { attention, type AttentionOutput, type AttentionParams } from "./ops/attention.ts"
export { gelu } from "./ops/gelu.ts"
export { layerNorm, vitLayerNormEps } from "./ops/layerNorm.ts"
export { linear } from "./ops/linear.ts"
export { matmul } from "./ops/matmul.ts"
export { patchEmbed } from "./ops/patchEmbed.ts"
export { resamplePosEmbed } from "./ops/resamplePosEmbed.ts"
export { type CreateOptions, type ModelEntry, ModelRegistry } from "./registry.ts"
export * from "./variants.ts"
export { type GlobalPool, globalPoolOf, gridSize, mlpHidden, validateConfig, type VitConfig } from "./vit/config.ts"
export { checkImages } from "./vit/embed.ts"
export {
  finalNorm,
  forward,
  forwardFeatures,
  forwardHead,
  forwardIntermediates,
  type Intermediate,
  type IntermediatesOptions,
  type IntermediatesOutput,
  poolClassToken,
  poolPatchMean,
  poolTokens,
  resolveBlockIndices,
} from "./vit/forward.ts"
export { initSeed } from "./initSeed.ts"
export { createVit, disposeVit, param, trainableParams, type VitInit, type VitModel, xavierBound } from "./vit/model.ts"
export { sincosPosEmbed2d } from "./vit/posEmbed.ts"
export { countParams, type ParamGroup, type ParamSpec, paramSpecs, type TrainableSelection, trainableNames } from "./vit/params.ts"
