/**
 * The `AdaptedTeacher` artifact: an SSL teacher put on a downstream task by
 * one of the paper's sec. 3.1 modes (linear / Partial-k / fine-tuning). It is
 * a `TeacherWeights` value with a classification head (`info.config.numClasses`
 * > 0, `head.*` in `state`, timm names throughout), so `modelFromWeights` and
 * every stage that reads a teacher's weights read it too, plus the record of
 * the adaptation (`adaptation.json`): mode, trainable count, loss curves,
 * train accuracy, time. Files: `teacher.json`, `weights.safetensors` (loadable
 * by timm with the head) and `adaptation.json`.
 */
import { Effect, Schema } from "effect"
import { Artifact, Config } from "../../../dsl/index.ts"
import { LossCurves, TeacherWeights, type TeacherWeightsValue } from "../../teachers/artifact.ts"

const Count = Config.IntAtLeast(0)
const Unit = Config.UnitInterval

/** How a teacher was adapted (sec. 3.1, Table 1's columns for one teacher and mode). */
export const AdaptationInfo = Schema.Struct({
  /** `linear`, `partial-k` or `full` (`adaptationName`). */
  mode: Schema.String,
  dataset: Schema.String,
  /** Class names of the new head, in label order. */
  classes: Schema.Array(Schema.String),
  images: Count,
  epochs: Count,
  /** Epochs run by this process (fewer than `epochs` after a resume). */
  epochsRunHere: Count,
  /** Scalar parameters trained, and the model's total (Table 1's "trainable params"). */
  trainable: Count,
  total: Count,
  /** Mean CE per epoch and every step's CE, on the augmented training batches. */
  losses: LossCurves,
  /** Top-1 on the un-augmented training images after training. */
  trainAccuracy: Unit,
  /** Seeds the new head, the batch order and the augmentation. */
  seed: Schema.Int,
  seconds: Schema.Finite,
})
export type AdaptationInfo = typeof AdaptationInfo.Type

/** A teacher with its downstream head, and how it got it. */
export interface AdaptedTeacherValue extends TeacherWeightsValue {
  readonly adaptation: AdaptationInfo
}

const adaptationCodec = Artifact.json("AdaptationInfo", AdaptationInfo)
const NAME = "AdaptedTeacher"

const rename = (e: Artifact.ArtifactDecodeError, file: string) => new Artifact.ArtifactDecodeError({ artifact: NAME, file, reason: e.reason })

/** The artifact type; files `teacher.json`, `weights.safetensors`, `adaptation.json`. */
export const AdaptedTeacher = Artifact.make<typeof NAME, AdaptedTeacherValue>(NAME, {
  encode: (v) => {
    const [json] = adaptationCodec.encode(v.adaptation)
    return [...TeacherWeights.encode(v), { name: "adaptation.json", bytes: json?.bytes ?? new Uint8Array() }]
  },
  decode: (files) =>
    Effect.gen(function* () {
      const weights = yield* TeacherWeights.decode(files).pipe(Effect.mapError((e) => rename(e, e.file)))
      const json = files.get("adaptation.json")
      if (json === undefined) return yield* new Artifact.ArtifactDecodeError({ artifact: NAME, file: "adaptation.json", reason: "missing" })
      const adaptation = yield* adaptationCodec.decode(new Map([["value.json", json]])).pipe(Effect.mapError((e) => rename(e, "adaptation.json")))
      if (weights.info.config.numClasses !== adaptation.classes.length) {
        return yield* new Artifact.ArtifactDecodeError({
          artifact: NAME,
          file: "teacher.json",
          reason: `config.numClasses is ${weights.info.config.numClasses}, expected ${adaptation.classes.length} (the classes in adaptation.json)`,
        })
      }
      return { ...weights, adaptation }
    }),
})
