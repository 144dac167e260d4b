/**
 * The hyper-parameters of a timm-shaped ViT (Dosovitskiy et al. 2021;
 * timm `VisionTransformer` with a pre-norm block and class-token or average
 * pooling).
 */
import { Schema } from "effect"
import { InvalidModelConfig } from "../errors.ts"

export interface VitConfig {
  /** Square input size the position embedding is learned for. */
  readonly imgSize: number
  readonly patchSize: number
  readonly inChans: number
  /** Token width D. */
  readonly embedDim: number
  /** Number of transformer blocks. */
  readonly depth: number
  readonly numHeads: number
  /** MLP hidden width = mlpRatio · D. */
  readonly mlpRatio: number
  /** Classes of the linear head; 0 means no head (timm `num_classes=0`). */
  readonly numClasses: number
  /**
   * How the head pools the tokens (timm `global_pool`; absent = `"token"`):
   * - `"token"`: the class token of the final `norm` (DINO, the paper's KD);
   * - `"avg"`: the mean of the patch tokens (class token excluded), then
   *   `fc_norm`; the final `norm` is the identity and has no parameters
   *   (timm with `fc_norm=None`, MAE fine-tuning's `models_vit.py`).
   */
  readonly globalPool?: GlobalPool | undefined
}

const NonNeg = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

/** {@link VitConfig} as a schema, for artifacts that record the config they were built with. */
export const VitConfigSchema = Schema.Struct({
  imgSize: NonNeg,
  patchSize: NonNeg,
  inChans: NonNeg,
  embedDim: NonNeg,
  depth: NonNeg,
  numHeads: NonNeg,
  mlpRatio: Schema.Finite,
  numClasses: NonNeg,
  /** timm `global_pool`; absent in artifacts written before it existed, which pool the class token. */
  globalPool: Schema.optional(Schema.Literals(["token", "avg"])),
})

// The schema and the interface describe the same object: each is assignable to the other.
const _schemaIsConfig: (c: typeof VitConfigSchema.Type) => VitConfig = (c) => c
const _configIsSchema: (c: VitConfig) => typeof VitConfigSchema.Type = (c) => c
void _schemaIsConfig
void _configIsSchema

/** timm's `global_pool` values this ViT implements. */
export type GlobalPool = "token" | "avg"

/** The pooling of a config (`"token"` when unset). */
export const globalPoolOf = (c: VitConfig): GlobalPool => c.globalPool ?? "token"

/** Patch grid side (`imgSize / patchSize`). */
export const gridSize = (c: VitConfig): number => c.imgSize / c.patchSize

/** MLP hidden width. */
export const mlpHidden = (c: VitConfig): number => Math.round(c.embedDim * c.mlpRatio)

/** The first invalid field of a config, or `undefined` when it builds a ViT. */
export const validateConfig = (arch: string, c: VitConfig): InvalidModelConfig | undefined => {
  const positive = ["imgSize", "patchSize", "inChans", "embedDim", "depth", "numHeads"] as const
  for (const field of positive) {
    const value = c[field]
    if (!Number.isInteger(value) || value <= 0) return new InvalidModelConfig({ arch, field, value, expected: "a positive integer" })
  }
  if (!Number.isInteger(c.numClasses) || c.numClasses < 0) {
    return new InvalidModelConfig({ arch, field: "numClasses", value: c.numClasses, expected: "an integer >= 0 (0: no head)" })
  }
  if (!(c.mlpRatio > 0)) return new InvalidModelConfig({ arch, field: "mlpRatio", value: c.mlpRatio, expected: "a positive number" })
  if (c.imgSize % c.patchSize !== 0) {
    return new InvalidModelConfig({ arch, field: "imgSize", value: c.imgSize, expected: `a multiple of patchSize ${c.patchSize}` })
  }
  if (c.globalPool !== undefined && c.globalPool !== "token" && c.globalPool !== "avg") {
    return new InvalidModelConfig({ arch, field: "globalPool", value: c.globalPool, expected: '"token" or "avg"' })
  }
  if (c.embedDim % c.numHeads !== 0) {
    return new InvalidModelConfig({ arch, field: "embedDim", value: c.embedDim, expected: `a multiple of numHeads ${c.numHeads}` })
  }
  return undefined
}
