/**
 * A teacher defined in a user's own file, as a user would write it, with no
 * change to the library: a masked-image-modeling variant ("MAE with half the
 * patches masked") whose pretraining stage reuses the library's MAE stage
 * with its own settings, registered in the teacher registry.
 */
import { Effect } from "effect"
import { Stage } from "../../../dsl/index.ts"
import { defineTeacher } from "../../../dsl/Teacher.ts"
import { MaePretrainConfig } from "../../../plugins/teachers/mae/config.ts"
import { pretrainMae } from "../../../plugins/teachers/mae/stage.ts"
import { TeacherWeights } from "../../../plugins/teachers/artifact.ts"
import { teachers } from "../../../plugins/teachers/builtins.ts"

export const pretrainHalfMasked = Stage.make({
  name: "user/pretrain-half-masked",
  description: "MAE pretraining with mask ratio 0.5, recorded as teacher half-masked",
  config: MaePretrainConfig,
  inputs: {},
  output: TeacherWeights,
  run: ({ config }) => pretrainMae.run({ config: { ...config, teacher: "half-masked", maskRatio: 0.5 }, inputs: {} }),
})

export const halfMasked = defineTeacher({
  name: "half-masked",
  family: "masked-image-modeling",
  description: "MAE with half of the patches masked (a user's teacher)",
  architecture: "vitMicroPatch7_28",
  weights: { naming: "timm", renameKey: (k) => (k.startsWith("encoder.") ? k.slice("encoder.".length) : k) },
  pretrain: pretrainHalfMasked,
  normalization: "dataset",
})

Effect.runSync(teachers.register(halfMasked.name, halfMasked))
