/**
 * The `TeacherWeights` artifact: a teacher's backbone weights under timm
 * names (`weights.safetensors`, loadable by timm and by `loadVitCheckpoint`)
 * and a description (`teacher.json`): name, family, architecture and config,
 * input normalization, where the weights came from, and the pretraining loss
 * curves. The in-memory value holds plain Float32Arrays, no tensors: a stage
 * builds a model from it and disposes the model itself.
 */
import { Effect, Schema } from "effect"
import { Artifact, Config } from "../../dsl/index.ts"
import { decodeSafetensors } from "../checkpoints/safetensors/decode.ts"
import { encodeSafetensors } from "../checkpoints/safetensors/encode.ts"
import type { FloatTensor } from "../checkpoints/timmFilter.ts"
import type { CheckpointMismatch } from "../checkpoints/errors.ts"
import { floatState, loadVitState } from "../checkpoints/vitCheckpoint.ts"
import { VitConfigSchema } from "../models/vit/config.ts"
import { paramSpecs } from "../models/vit/params.ts"
import { createVit, disposeVit, type VitModel } from "../models/vit/model.ts"

const Pos = Config.IntAtLeast(0)

/** Where the weights came from. */
export const WeightOrigin = Schema.Union([
  Schema.Struct({
    kind: Schema.Literal("pretrained"),
    objective: Schema.String,
    stage: Schema.String,
    dataset: Schema.String,
    images: Pos,
    epochs: Pos,
    /** Epochs run by this process (fewer than `epochs` when it resumed from a checkpoint). */
    epochsRunHere: Pos,
    seconds: Schema.Finite,
  }),
  Schema.Struct({ kind: Schema.Literal("checkpoint"), file: Schema.String, notes: Schema.Array(Schema.String) }),
  Schema.Struct({ kind: Schema.Literal("random"), seed: Schema.Int }),
])
export type WeightOrigin = typeof WeightOrigin.Type

/** Loss curves of a pretraining: the mean per epoch, and every step. */
export const LossCurves = Schema.Struct({
  epochs: Schema.Array(Schema.Finite),
  steps: Schema.Array(Schema.Finite),
})
export type LossCurves = typeof LossCurves.Type

export const TeacherInfo = Schema.Struct({
  teacher: Schema.String,
  family: Schema.Literals(["contrastive", "masked-image-modeling", "other"]),
  arch: Schema.String,
  config: VitConfigSchema,
  normalization: Schema.Struct({ mean: Schema.Array(Schema.Finite), std: Schema.Array(Schema.Finite) }),
  origin: WeightOrigin,
  losses: LossCurves,
})
export type TeacherInfo = typeof TeacherInfo.Type

export interface TeacherWeightsValue {
  readonly info: TeacherInfo
  /** Backbone parameters under timm names, in state_dict order. */
  readonly state: ReadonlyMap<string, FloatTensor>
}

const infoCodec = Artifact.json("TeacherInfo", TeacherInfo)

/** The artifact type; files `teacher.json` and `weights.safetensors`. */
export const TeacherWeights = Artifact.make<"TeacherWeights", TeacherWeightsValue>("TeacherWeights", {
  encode: (v) => {
    const [json] = infoCodec.encode(v.info)
    const tensors = [...v.state].map(([name, t]) => ({ name, shape: t.shape, data: t.data }))
    return [
      { name: "teacher.json", bytes: json?.bytes ?? new Uint8Array() },
      { name: "weights.safetensors", bytes: encodeSafetensors(tensors, { format: "pt", "ssl-kd.teacher": v.info.teacher, "ssl-kd.arch": v.info.arch }) },
    ]
  },
  decode: (files) =>
    Effect.gen(function* () {
      const json = files.get("teacher.json")
      const info = yield* infoCodec.decode(new Map(json === undefined ? [] : [["value.json", json]]))
      const bytes = files.get("weights.safetensors")
      if (bytes === undefined) return yield* new Artifact.ArtifactDecodeError({ artifact: "TeacherWeights", file: "weights.safetensors", reason: "missing" })
      const contents = yield* decodeSafetensors(bytes, "weights.safetensors").pipe(
        Effect.mapError((e) => new Artifact.ArtifactDecodeError({ artifact: "TeacherWeights", file: "weights.safetensors", reason: e.message })),
      )
      return { info, state: floatState(contents) }
    }),
})

/** The model's parameters copied to host memory, in timm state_dict order. */
export const modelState = (model: VitModel): ReadonlyMap<string, FloatTensor> =>
  new Map(
    paramSpecs(model.config).flatMap((s) => {
      const v = model.params.get(s.name)
      return v === undefined ? [] : [[s.name, { shape: s.shape, data: Float32Array.from(v.dataSync()) }] as const]
    }),
  )

/**
 * A model holding the artifact's weights (dispose with `disposeVit`); a name
 * or shape that does not fit the recorded config fails with `CheckpointMismatch`.
 */
export const modelFromWeights = (w: TeacherWeightsValue): Effect.Effect<VitModel, CheckpointMismatch> =>
  Effect.suspend(() => {
    const model = createVit(w.info.arch, w.info.config, 0)
    return loadVitState(model, w.state, `TeacherWeights of ${w.info.teacher}`).pipe(
      Effect.as(model),
      Effect.tapError(() => Effect.sync(() => disposeVit(model))),
    )
  })
