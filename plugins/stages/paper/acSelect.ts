/**
 * `paper/ac-select`: the head selection of the paper's sec. 3.3. For one
 * layer of a teacher (the last by default, the layer eq. 3 distils), the
 * Attention Confidence of every head (eq. 2, Voita et al. 2019),
 *
 *   C_h = (1/|Q|) Σ_{q ∈ Q} max_{k ∈ K} A_h(q, k),
 *
 * averaged over a calibration subset (the first `calibrationCount` images of
 * the downstream training split, un-augmented; streamed for a streamed
 * split, `datasets/source.ts`), and the head with the highest C_h (lowest
 * index on ties): the map that eq. 3 transfers.
 *
 * Two declarations share one implementation: `paper/ac-select` reads an
 * `AdaptedTeacher` (the pipeline's order: adapt, then select), and
 * `paper/ac-select-pretrained` a `TeacherWeights` (selection before adaptation).
 */
import * as tf from "@tensorflow/tfjs-core"
import { Effect, Schema } from "effect"
import { Artifact, Config, Stage, StageContext } from "../../../dsl/index.ts"
import type { ValueOf } from "../../../dsl/Artifact.ts"
import { TensorBackend } from "../../../runtime/backend/TensorBackend.ts"
import { AttentionConfidenceMeter } from "../../analysis/attentionConfidence.ts"
import { forwardIntermediates, resolveBlockIndices } from "../../models/vit/forward.ts"
import { disposeVit } from "../../models/vit/model.ts"
import { modelFromWeights, TeacherWeights, type TeacherWeightsValue } from "../../teachers/artifact.ts"
import { StageConfigError } from "../../training/errors.ts"
import { TrainingStepError } from "../../training/errors.ts"
import { teacherInput, teacherSource } from "../../teachers/inputs.ts"
import { openSplit } from "../../datasets/source.ts"
import { splitFiles } from "../../datasets/splits.ts"
import { AdaptedTeacher } from "./artifact.ts"

/** Eq. 2's table for one teacher layer and the head it selects. */
export const HeadSelection = Artifact.json(
  "HeadSelection",
  Schema.Struct({
    teacher: Schema.String,
    /** Block index, 0-based (resolved from a negative config value). */
    layer: Schema.Int,
    /** C_h for h = 0 .. heads-1. */
    perHead: Schema.Array(Schema.Finite),
    /** argmax_h C_h. */
    best: Schema.Int,
    images: Schema.Int,
    queries: Schema.Literals(["all", "patches"]),
    dataset: Schema.String,
  }),
)
export type HeadSelectionValue = ValueOf<typeof HeadSelection>

export const AcSelectConfig = Schema.Struct({
  dataset: Config.withDefault(Schema.String, "fashion-mnist"),
  /** First N training images used for calibration (0: all). */
  calibrationCount: Config.withDefault(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)), 256),
  /** Block whose heads are ranked; negative counts from the end (-1: the last). */
  layer: Config.withDefault(Schema.Int, -1),
  /** Query rows of eq. 2: every token, or the patch tokens only (class token dropped). */
  queries: Config.withDefault(Schema.Literals(["all", "patches"]), "all"),
  batchSize: Config.withDefault(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)), 32),
})
export type AcSelectConfig = typeof AcSelectConfig.Type

/** Runs eq. 2 over the calibration images for one teacher; shared by both stages. */
const selectHead = (stage: string, c: AcSelectConfig, weights: TeacherWeightsValue) =>
  Effect.gen(function* () {
    yield* TensorBackend
    const ctx = yield* StageContext
    const info = weights.info
    const depth = info.config.depth
    const layer = c.layer < 0 ? depth + c.layer : c.layer
    if (!Number.isInteger(layer) || layer < 0 || layer >= depth) {
      return yield* new StageConfigError({ stage, field: "layer", value: String(c.layer), expected: `a block index in ${-depth}..${depth - 1} (teacher ${info.teacher} has ${depth} blocks)` })
    }
    const data = yield* openSplit(c.dataset, "train", c.calibrationCount)
    const { spec, meta: set } = data
    if (set.count < 1) return yield* new StageConfigError({ stage, field: "calibrationCount", value: String(c.calibrationCount), expected: `a split with at least one image (${spec.name} train is empty)` })
    const loader = yield* teacherSource(stage, data, info, c.batchSize)
    const meter = new AttentionConfidenceMeter({ queries: c.queries })
    yield* Effect.acquireUseRelease(
      modelFromWeights(weights),
      (model) =>
        Effect.gen(function* () {
          for (let b = 0; b < loader.batchesPerEpoch; b++) {
            const batch = yield* loader.batch(0, b)
            const fail = (e: unknown) => new TrainingStepError({ stage, epoch: 0, step: b, reason: e instanceof Error ? e.message : String(e) })
            const attn = yield* Effect.try({
              try: () =>
                tf.tidy(() => {
                  const [block] = forwardIntermediates(model, teacherInput(batch.images, info), { indices: resolveBlockIndices(depth, [layer]), attention: true }).intermediates
                  if (block?.attn === undefined) throw new TypeError(`block ${layer} returned no attention map`)
                  return block.attn
                }),
              catch: fail,
            })
            yield* Effect.tryPromise({ try: () => meter.add(attn), catch: fail }).pipe(Effect.ensuring(Effect.sync(() => attn.dispose())))
            yield* ctx.progress({ done: b + 1, total: loader.batchesPerEpoch, note: `layer ${layer}` })
          }
        }),
      (model) => Effect.sync(() => disposeVit(model)),
    )
    const r = meter.result()
    const table = r.perHead.map((v, h) => `${h}:${v.toFixed(3)}`).join(" ")
    yield* ctx.log(`${info.teacher}: attention confidence of block ${layer} (${r.images} images, queries ${r.queries}): ${table}; best head ${r.best}`)
    return { teacher: info.teacher, layer, perHead: [...r.perHead], best: r.best, images: r.images, queries: r.queries, dataset: spec.name }
  }).pipe(Effect.scoped)

/** Eq. 2 head selection on an adapted teacher (sec. 3.3 after sec. 3.1). */
export const acSelect = Stage.make({
  name: "paper/ac-select",
  description: "attention confidence (eq. 2) of every head of one layer of an adapted teacher, and the head eq. 3 distils",
  config: AcSelectConfig,
  inputs: { teacher: AdaptedTeacher },
  output: HeadSelection,
  reads: (c) => splitFiles(c.dataset, "train"),
  run: ({ config, inputs }) => selectHead("paper/ac-select", config, inputs.teacher),
})

/** Eq. 2 head selection on a pretrained (not yet adapted) teacher. */
export const acSelectPretrained = Stage.make({
  name: "paper/ac-select-pretrained",
  description: "attention confidence (eq. 2) of every head of one layer of a pretrained teacher, and the head eq. 3 distils",
  config: AcSelectConfig,
  inputs: { teacher: TeacherWeights },
  output: HeadSelection,
  reads: (c) => splitFiles(c.dataset, "train"),
  run: ({ config, inputs }) => selectHead("paper/ac-select-pretrained", config, inputs.teacher),
})
