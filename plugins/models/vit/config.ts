/**
 * The hyper-parameters of a timm-shaped ViT (Dosovitskiy et al. 2021;
 * timm `VisionTransformer` with class-token pooling and a pre-norm block).
 */
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
}

/** Patch grid side (`imgSize / patchSize`). */
export const gridSize = (c: VitConfig): number => c.imgSize / c.patchSize

/** MLP hidden width. */
export const mlpHidden = (c: VitConfig): number => Math.round(c.embedDim * c.mlpRatio)

/** The first invalid field of a config, or `undefined` when it builds a ViT. */
export const validateConfig = (arch: string, c: VitConfig): InvalidModelConfig | undefined => {
  const positive: ReadonlyArray<keyof VitConfig> = ["imgSize", "patchSize", "inChans", "embedDim", "depth", "numHeads"]
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
  if (c.embedDim % c.numHeads !== 0) {
    return new InvalidModelConfig({ arch, field: "embedDim", value: c.embedDim, expected: `a multiple of numHeads ${c.numHeads}` })
  }
  return undefined
}
