/**
 * The named ViT variants and the default registry holding them. The paper's
 * student is ViT-Ti/16 and its teachers ViT-B/16 (DINO, MAE) at 224 px; the
 * 28 px variants are the same families sized for Fashion-MNIST on a CPU.
 */
import { Context, Effect } from "effect"
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
/**
 * The reproduction's teacher (DINO and MAE; issue 11): width 160, 6 blocks,
 * 5 heads of 32, on 28 px images in 4 px patches (a 7 x 7 grid, 50 tokens),
 * on Fashion-MNIST (1 channel) 1,866,880 parameters head-less, 1,868,490
 * with the 10-class head (registered with 3 channels: 1,873,610): a
 * ViT-B/16 analog small enough to pretrain on all of Fashion-MNIST on a CPU.
 * Its width is a multiple of 4, as MAE's sin-cos position embedding needs.
 */
export const vitMiniPatch4_28 = vit({ imgSize: 28, patchSize: 4, numClasses: 10, embedDim: 160, depth: 6, numHeads: 5 })
/**
 * The reproduction's student (issue 11): width 60, 6 blocks, 3 heads of 20,
 * same 7 x 7 grid (eq. 3 needs the teachers' token count), 268,690
 * parameters with the 10-class head on 1 channel (registered with 3:
 * 270,610): 6.95x fewer than {@link vitMiniPatch4_28}
 * (ViT-Ti/16 to ViT-B/16: 15x), and three heads as ViT-Ti (two distilled,
 * one free).
 */
export const vitNanoPatch4_28 = vit({ imgSize: 28, patchSize: 4, numClasses: 10, embedDim: 60, depth: 6, numHeads: 3 })
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
  { name: "vitMiniPatch4_28", config: vitMiniPatch4_28, description: "width 160, 6 blocks, 5 heads, 28 px, patch 4 (7x7 grid): reproduction teacher, 1.87M" },
  { name: "vitNanoPatch4_28", config: vitNanoPatch4_28, description: "width 60, 6 blocks, 3 heads, 28 px, patch 4 (7x7 grid): reproduction student, 0.27M" },
  { name: "vitMicroPatch7_28", config: vitMicroPatch7_28, description: "2-block width-32 ViT, 28 px, patch 7 (tests)" },
], (e) => models.register(e.name, { config: e.config, description: e.description }), { discard: true }))

/** The model registry as a service (`yield* Models`); its default is {@link models}. */
export const Models: Context.Reference<ModelRegistry> = Context.Reference<ModelRegistry>("ssl-kd/Models", { defaultValue: () => models })
