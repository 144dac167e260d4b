/**
 * The built-in teachers of the paper (sec. 3): DINO (Caron et al. 2021), the
 * contrastive (CL) teacher, and MAE (He et al. 2022), the masked-image-
 * modeling (MIM) teacher. At the paper's scale both are ViT-B/16 loaded from
 * timm files (`vit_base_patch16_224.dino`, `.mae`, ImageNet normalization);
 * without a checkpoint, each is pretrained locally by its stage, on the
 * downstream dataset's normalization.
 */
import { Context, Effect } from "effect"
import { defineTeacher } from "../../dsl/Teacher.ts"
import { pretrainDino } from "./dino/stage.ts"
import { pretrainMae } from "./mae/stage.ts"
import { makeTeacherRegistry, type TeacherRegistry } from "./registry.ts"

const imagenet = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] }

/** DINO: self-distillation with a momentum teacher. Original checkpoints wrap the backbone as `backbone.*` beside `head.*`. */
export const dinoTeacher = defineTeacher({
  name: "dino",
  family: "contrastive",
  description: "DINO self-distillation (Caron et al. 2021); the paper's CL teacher",
  architecture: "vitBasePatch16_224",
  weights: {
    naming: "timm",
    reference: "timm vit_base_patch16_224.dino (facebookresearch/dino dino_vitbase16_pretrain.pth)",
    renameKey: (key) => {
      const k = key.startsWith("module.") ? key.slice("module.".length) : key
      if (k.startsWith("head.") && !k.startsWith("head.weight") && !k.startsWith("head.bias")) return undefined // DINOHead
      return k.startsWith("backbone.") ? k.slice("backbone.".length) : k
    },
  },
  pretrain: pretrainDino,
  normalization: imagenet,
})

/** MAE: masked autoencoder. Pretraining checkpoints carry `mask_token` and `decoder_*`, dropped by the timm filter. */
export const maeTeacher = defineTeacher({
  name: "mae",
  family: "masked-image-modeling",
  description: "MAE masked autoencoder (He et al. 2022); the paper's MIM teacher",
  architecture: "vitBasePatch16_224",
  weights: { naming: "timm", reference: "timm vit_base_patch16_224.mae (facebookresearch/mae mae_pretrain_vit_base.pth)" },
  pretrain: pretrainMae,
  normalization: imagenet,
})

/** The registry every teacher stage and `ssl-kd teachers` resolve names against; users add their own. */
export const teachers: TeacherRegistry = makeTeacherRegistry()

Effect.runSync(Effect.forEach([dinoTeacher, maeTeacher], (t) => teachers.register(t.name, t), { discard: true }))

/**
 * The teacher registry as a service: stages read it with `yield* Teachers`.
 * Its default is {@link teachers}; a test or a user swaps it with
 * `Effect.provideService(Teachers, myRegistry)`.
 */
export const Teachers: Context.Reference<TeacherRegistry> = Context.Reference<TeacherRegistry>("ssl-kd/Teachers", { defaultValue: () => teachers })
