/**
 * The named ViT variants and the default registry holding them. The paper's
 * student is ViT-Ti/16 and its teachers ViT-B/16 (DINO, MAE) at 224 px; the
 * 28 px variants are the same families sized for Fashion-MNIST on a CPU.
 */
import { Effect } from "effect"
import { ModelRegistry } from "./registry.ts"
import type { VitConfig } from "./vit/config.ts"

const vit = (over: Partial<VitConfig> & Pick<VitConfig, "embedDim" | "depth" | "numHeads">): VitConfig => ({
  imgSize: 224,
  patchSize: 16,
  inChans: 3,
  mlpRatio: 4,
  numClasses: 1000,
  ...over,
})

/** timm `vit_tiny_patch16_224` (DeiT-Ti shape): the paper's student, 5.7M parameters. */
export const vitTinyPatch16_224 = vit({ embedDim: 192, depth: 12, numHeads: 3 })
/** timm `vit_small_patch16_224`: 22.1M parameters. */
export const vitSmallPatch16_224 = vit({ embedDim: 384, depth: 12, numHeads: 6 })
/** timm `vit_base_patch16_224` (DINO and MAE teachers): 86.6M parameters. */
export const vitBasePatch16_224 = vit({ embedDim: 768, depth: 12, numHeads: 12 })
/** ViT-Ti (width 192, 12 blocks, 3 heads) on 28 px images in 4 px patches: 49 patches + cls. */
export const vitTinyPatch4_28 = vit({ imgSize: 28, patchSize: 4, numClasses: 10, embedDim: 192, depth: 12, numHeads: 3 })
/** ViT-S width and heads (384, 6), 12 blocks, on 28 px images: a teacher for the demo preset. */
export const vitSmallPatch4_28 = vit({ imgSize: 28, patchSize: 4, numClasses: 10, embedDim: 384, depth: 12, numHeads: 6 })
/** A 2-block, width-32, 4-head ViT on 28 px images in 7 px patches (17 tokens): tests and smoke runs. */
export const vitMicroPatch7_28 = vit({ imgSize: 28, patchSize: 7, numClasses: 10, embedDim: 32, depth: 2, numHeads: 4 })

/** The registry every ssl-kd command and stage resolves `--arch` names against. */
export const models = new ModelRegistry()

Effect.runSync(Effect.forEach([
  { name: "vitTinyPatch16_224", config: vitTinyPatch16_224, description: "ViT-Ti/16, 224 px (paper's student)" },
  { name: "vitSmallPatch16_224", config: vitSmallPatch16_224, description: "ViT-S/16, 224 px" },
  { name: "vitBasePatch16_224", config: vitBasePatch16_224, description: "ViT-B/16, 224 px (DINO / MAE teachers)" },
  { name: "vitTinyPatch4_28", config: vitTinyPatch4_28, description: "ViT-Ti width/depth/heads, 28 px, patch 4" },
  { name: "vitSmallPatch4_28", config: vitSmallPatch4_28, description: "ViT-S width/heads, 12 blocks, 28 px, patch 4" },
  { name: "vitMicroPatch7_28", config: vitMicroPatch7_28, description: "2-block width-32 ViT, 28 px, patch 7 (tests)" },
], (e) => models.register(e), { discard: true }))
