/**
 * Partial-k with the frozen trunk computed once (paper, sec. 3.1; issue 7).
 *
 * Partial-k trains the head, the final norm and the last k blocks of a
 * pretrained teacher; blocks 0 .. depth-k-1 and the embeddings stay frozen.
 * Without augmentation the frozen part's output for an image never changes,
 * so two stages split the work:
 *
 * - `paper/trunk-features` (input `teacher: TeacherWeights`, the output of
 *   the pretraining and load stages; config `dataset`, `trainCount`, `k`,
 *   `batchSize`): runs the un-augmented training images (resized to the
 *   teacher's input size, grey repeated, the teacher's normalization: what
 *   `paper/adapt-teacher` evaluates on) through the embeddings and blocks
 *   0 .. depth-k-1 and stores the token sequences after block depth-k-1
 *   (the embedded tokens when k = depth): artifact `TrunkFeatures`, files
 *   `tokens.safetensors` (one float32 tensor `tokens` [N, 1 + patches, D])
 *   and `trunk.json` (labels, class names, and what it was computed from:
 *   teacher name, arch, config, normalization, a sha256 of the frozen
 *   parameters, k, dataset, trainCount). The cache makes it free on reruns
 *   and shares it between every cached Partial-k run with the same teacher,
 *   k and data (the recipe: epochs, lr, seed ... is not part of its key).
 *   Size: N x (1 + patches) x D x 4 bytes (3000 Fashion-MNIST images at
 *   width 96, patch 7: 19.6 MB; ImageNet-1k at ViT-B/16 would be 775 GB,
 *   so at that scale use `paper/adapt-teacher`).
 * - `paper/adapt-teacher-cached` (inputs `teacher`, `trunk`; the recipe
 *   fields of `paper/adapt-teacher` without `mode`, `cropScaleMin`, `flip`):
 *   trains the last k blocks + final norm + a fresh head (from `seed`) with
 *   CE on the cached tokens, AdamW and the cosine schedule of
 *   `paper/adapt-teacher`, checkpointed per epoch and resumed (`runEpochs`).
 *   **No augmentation is possible** (the tokens are of the whole,
 *   un-augmented images): it equals `paper/adapt-teacher` with mode
 *   `partial-k`, `cropScaleMin: 1` and `flip: 0` (same batches, same
 *   seeded order, same weights up to float rounding), not its default
 *   augmented recipe. Its output is the same `AdaptedTeacher`, frozen
 *   parameters bit-identical to the teacher's. A trunk computed from
 *   another teacher (name, arch, config, normalization or frozen weights),
 *   k, dataset or trainCount is refused with {@link TrunkMismatch} naming
 *   the field.
 *
 * Neither stage is wired into the pipelines yet.
 */
import { createHash } from "node:crypto"
import * as tf from "@tensorflow/tfjs-core"
import { Data, Effect, Schema } from "effect"
import { Artifact, Config, Stage, StageContext } from "../../../dsl/index.ts"
import { TensorBackend } from "../../../runtime/backend/TensorBackend.ts"
import { decodeSafetensors } from "../../checkpoints/safetensors/decode.ts"
import { encodeSafetensors } from "../../checkpoints/safetensors/encode.ts"
import { entryToFloat32 } from "../../checkpoints/safetensors/file.ts"
import type { FloatTensor } from "../../checkpoints/timmFilter.ts"
import type { ImageSet } from "../../datasets/ImageSet.ts"
import { makeLoader } from "../../datasets/loader.ts"
import { block } from "../../models/vit/block.ts"
import type { VitConfig } from "../../models/vit/config.ts"
import { embedTokens } from "../../models/vit/embed.ts"
import { finalNorm, forwardHead } from "../../models/vit/forward.ts"
import { disposeVit, param, type VitModel } from "../../models/vit/model.ts"
import { paramSpecs } from "../../models/vit/params.ts"
import { modelFromWeights, type TeacherInfo, TeacherWeights, type TeacherWeightsValue } from "../../teachers/artifact.ts"
import { VitConfigSchema } from "../../models/vit/config.ts"
import { StageConfigError } from "../../training/errors.ts"
import { parseAdaptationMode } from "../../training/partial.ts"
import { teacherInput, teacherLoader } from "../../teachers/inputs.ts"
import { loadSplit, splitFiles } from "../../datasets/splits.ts"
import { AdaptConfig, runAdaptation } from "./adapt.ts"
import { AdaptedTeacher } from "./artifact.ts"
import { ceStep, top1By } from "./adaptStep.ts"

const TRUNK = "paper/trunk-features"
const CACHED = "paper/adapt-teacher-cached"

const Count = Config.IntAtLeast(0)
const Int = Config.IntAtLeast

// ---------------------------------------------------------------- tensors

/** Images [B,C,H,W] -> tokens [B, 1+N, D] after blocks 0 .. frozen-1 (the embedded tokens when `frozen` is 0). Call inside `tf.tidy`. */
export const trunkTokens = (model: VitModel, images: tf.Tensor, frozen: number): tf.Tensor => {
  let x = embedTokens(model, images)
  for (let i = 0; i < frozen; i++) x = block(model, i, x).x
  return x
}

/** Tokens after block from-1 -> logits: blocks from .. depth-1, final norm, head (the rest of `forward`). Call inside `tf.tidy`. */
export const topLogits = (model: VitModel, tokens: tf.Tensor, from: number): tf.Tensor => {
  let x = tokens
  for (let i = from; i < model.config.depth; i++) x = block(model, i, x).x
  return forwardHead(model, finalNorm(model, x))
}

/** sha256 (hex, 16 chars) of the parameters frozen under Partial-k: embeddings and blocks 0 .. depth-k-1, names, shapes and float32 bytes. */
export const frozenDigest = (config: VitConfig, state: ReadonlyMap<string, FloatTensor>, k: number): string => {
  const hash = createHash("sha256")
  for (const s of paramSpecs(config)) {
    const frozen = s.group.kind === "embed" || (s.group.kind === "block" && s.group.index < config.depth - k)
    if (!frozen) continue
    const t = state.get(s.name)
    hash.update(`${s.name}[${s.shape.join(",")}]`).update("\u0000")
    if (t !== undefined) hash.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength))
    else hash.update("missing")
  }
  return hash.digest("hex").slice(0, 16)
}

// ---------------------------------------------------------------- artifact

/** What a `TrunkFeatures` holds besides the tokens, and what it was computed from. */
export const TrunkInfo = Schema.Struct({
  teacher: Schema.String,
  arch: Schema.String,
  /** The teacher's config (its `numClasses` as in the input, not the task's). */
  config: VitConfigSchema,
  normalization: Schema.Struct({ mean: Schema.Array(Schema.Finite), std: Schema.Array(Schema.Finite) }),
  /** `frozenDigest` of the teacher's weights at this k. */
  frozenDigest: Schema.String,
  /** Blocks left to train; the tokens are those after block depth-k-1. */
  k: Count,
  /** The dataset as configured (what `paper/adapt-teacher-cached` compares), and its resolved name. */
  dataset: Schema.String,
  datasetName: Schema.String,
  /** As configured (0: all), and the images actually cached. */
  trainCount: Count,
  images: Count,
  /** Tokens per image (1 + patches) and their width. */
  tokens: Count,
  dim: Count,
  classes: Schema.Array(Schema.String),
  /** One class index per image, in dataset order. */
  labels: Schema.Array(Count),
  seconds: Schema.Finite,
})
export type TrunkInfo = typeof TrunkInfo.Type

/** A teacher's frozen-trunk tokens of a training split: `tokens` is [images, tokens, dim] row-major. */
export interface TrunkFeaturesValue {
  readonly info: TrunkInfo
  readonly tokens: Float32Array
}

const ARTIFACT = "TrunkFeatures"
const infoCodec = Artifact.json("TrunkInfo", TrunkInfo)
const decodeError = (file: string, reason: string) => new Artifact.ArtifactDecodeError({ artifact: ARTIFACT, file, reason })

/** The artifact type; files `trunk.json` and `tokens.safetensors`. */
export const TrunkFeatures = Artifact.make<typeof ARTIFACT, TrunkFeaturesValue>(ARTIFACT, {
  encode: (v) => {
    const [json] = infoCodec.encode(v.info)
    const shape = [v.info.images, v.info.tokens, v.info.dim]
    return [
      { name: "trunk.json", bytes: json?.bytes ?? new Uint8Array() },
      { name: "tokens.safetensors", bytes: encodeSafetensors([{ name: "tokens", shape, data: v.tokens }], { "ssl-kd.teacher": v.info.teacher, "ssl-kd.k": String(v.info.k) }) },
    ]
  },
  decode: (files) =>
    Effect.gen(function* () {
      const json = files.get("trunk.json")
      if (json === undefined) return yield* decodeError("trunk.json", "missing")
      const info = yield* infoCodec.decode(new Map([["value.json", json]])).pipe(Effect.mapError((e) => decodeError("trunk.json", e.reason)))
      const bytes = files.get("tokens.safetensors")
      if (bytes === undefined) return yield* decodeError("tokens.safetensors", "missing")
      const contents = yield* decodeSafetensors(bytes, "tokens.safetensors").pipe(Effect.mapError((e) => decodeError("tokens.safetensors", e.message)))
      const entry = contents.tensors.get("tokens")
      if (entry === undefined) return yield* decodeError("tokens.safetensors", `tensor "tokens" is missing`)
      const expected = [info.images, info.tokens, info.dim]
      if (entry.dtype !== "F32" || entry.shape.length !== 3 || entry.shape.some((d, i) => d !== expected[i])) {
        return yield* decodeError("tokens.safetensors", `tensor "tokens" is ${entry.dtype} [${entry.shape.join(", ")}], expected F32 [${expected.join(", ")}] (trunk.json)`)
      }
      if (info.labels.length !== info.images || info.labels.some((l) => l >= info.classes.length)) {
        return yield* decodeError("trunk.json", `labels: expected ${info.images} class indices below ${info.classes.length}`)
      }
      return { info, tokens: entryToFloat32(entry) }
    }),
})

// ---------------------------------------------------------------- paper/trunk-features

export const TrunkConfig = Schema.Struct({
  dataset: Config.withDefault(Schema.String, "fashion-mnist"),
  /** First N training images (0: all). */
  trainCount: Config.withDefault(Int(0), 0),
  /** Blocks the Partial-k run will train (1 <= k <= depth): blocks 0 .. depth-k-1 are run here. */
  k: Config.withDefault(Int(1), 1),
  /** Images per forward pass (memory only: the tokens do not depend on it beyond float rounding). */
  batchSize: Config.withDefault(Int(1), 64),
})
export type TrunkConfig = typeof TrunkConfig.Type

export const trunkFeatures = Stage.make({
  name: TRUNK,
  description: "a teacher's frozen Partial-k trunk (embeddings + blocks 0..depth-k-1) run once over the un-augmented training images: tokens, labels, classes",
  config: TrunkConfig,
  inputs: { teacher: TeacherWeights },
  output: TrunkFeatures,
  reads: (c) => splitFiles(c.dataset, "train"),
  run: ({ config: c, inputs }) =>
    Effect.gen(function* () {
      yield* TensorBackend
      const ctx = yield* StageContext
      const started = performance.now()
      const info = inputs.teacher.info
      const depth = info.config.depth
      const bad = (field: string, value: unknown, expected: string) =>
        new StageConfigError({ stage: TRUNK, field, value: JSON.stringify(value), expected })
      if (c.k > depth) return yield* bad("k", c.k, `1 <= k <= ${depth} (the depth of teacher ${info.teacher})`)
      const { spec, set } = yield* loadSplit(c.dataset, "train", c.trainCount)
      if (set.classes.length < 1) return yield* bad("dataset", spec.name, "a labeled dataset with at least one class")
      const loader = yield* teacherLoader(TRUNK, set, info, c.batchSize)
      const frozen = depth - c.k
      const dim = info.config.embedDim
      let tokensPerImage = 0
      let out = new Float32Array(0)
      yield* Effect.acquireUseRelease(
        modelFromWeights(inputs.teacher),
        (model) =>
          Effect.gen(function* () {
            let at = 0
            for (let b = 0; b < loader.batchesPerEpoch; b++) {
              const batch = loader.batch(0, b)
              const data = yield* Effect.try({
                try: () => tf.tidy(() => {
                  const t = trunkTokens(model, teacherInput(batch.images, info), frozen)
                  tokensPerImage = t.shape[1] ?? 0
                  return t.dataSync() as Float32Array
                }),
                catch: (e) => bad("teacher", info.teacher, `a model that runs on ${spec.name} images (${e instanceof Error ? e.message : String(e)})`),
              })
              if (b === 0) out = new Float32Array(set.count * tokensPerImage * dim)
              out.set(data, at)
              at += data.length
              yield* ctx.progress({ done: b + 1, total: loader.batchesPerEpoch, note: `trunk of ${frozen} blocks` })
              yield* Effect.yieldNow
            }
          }),
        (model) => Effect.sync(() => disposeVit(model)),
      )
      const seconds = (performance.now() - started) / 1000
      yield* ctx.log(
        `${info.teacher}: embeddings + ${frozen} of ${depth} blocks on ${set.count} ${spec.name} images -> [${set.count}, ${tokensPerImage}, ${dim}] ` +
          `(${((out.byteLength / 2 ** 20)).toFixed(1)} MiB) in ${seconds.toFixed(1)} s`,
      )
      return {
        info: {
          teacher: info.teacher,
          arch: info.arch,
          config: info.config,
          normalization: info.normalization,
          frozenDigest: frozenDigest(info.config, inputs.teacher.state, c.k),
          k: c.k,
          dataset: c.dataset,
          datasetName: spec.name,
          trainCount: c.trainCount,
          images: set.count,
          tokens: tokensPerImage,
          dim,
          classes: [...set.classes],
          labels: Array.from(set.labels),
          seconds,
        },
        tokens: out,
      }
    }),
})

// ---------------------------------------------------------------- paper/adapt-teacher-cached

/** Trunk features that were not computed for this teacher, k or data. */
export class TrunkMismatch extends Data.TaggedError("TrunkMismatch")<{
  readonly stage: string
  /** The setting or teacher property that differs (`k`, `dataset`, `trainCount`, `teacher`, `teacher arch`, `teacher config`, `teacher normalization`, `teacher weights`). */
  readonly field: string
  /** Its value here (config or teacher input). */
  readonly value: string
  /** Its value in the trunk features. */
  readonly trunk: string
}> {
  override get message(): string {
    return `stage ${this.stage}: ${this.field} is ${this.value}, but the trunk features were computed with ${this.trunk}; ` +
      `compute paper/trunk-features from the same teacher with the same k, dataset and trainCount`
  }
}

const { mode: _mode, cropScaleMin: _crop, flip: _flip, ...recipe } = AdaptConfig.fields

/** `paper/adapt-teacher`'s recipe without `mode` (always Partial-k), `cropScaleMin` and `flip` (no augmentation on cached tokens). */
export const CachedAdaptConfig = Schema.Struct(recipe)
export type CachedAdaptConfig = typeof CachedAdaptConfig.Type

/** The first field where `trunk` does not fit this teacher and config, if any. */
export const trunkMismatch = (stage: string, c: Pick<CachedAdaptConfig, "k" | "dataset" | "trainCount">, teacher: TeacherWeightsValue, trunk: TrunkInfo): TrunkMismatch | undefined => {
  const t = teacher.info
  const { numClasses: _a, ...config } = t.config
  const { numClasses: _b, ...trunkConfig } = trunk.config
  const checks: ReadonlyArray<readonly [string, unknown, unknown]> = [
    ["teacher", t.teacher, trunk.teacher],
    ["teacher arch", t.arch, trunk.arch],
    ["teacher config", config, trunkConfig],
    ["teacher normalization", t.normalization, trunk.normalization],
    ["k", c.k, trunk.k],
    ["dataset", c.dataset, trunk.dataset],
    ["trainCount", c.trainCount, trunk.trainCount],
  ]
  for (const [field, here, there] of checks) {
    const [a, b] = [JSON.stringify(here), JSON.stringify(there)]
    if (a !== b) return new TrunkMismatch({ stage, field, value: a, trunk: b })
  }
  const digest = frozenDigest(t.config, teacher.state, c.k)
  if (digest !== trunk.frozenDigest) {
    return new TrunkMismatch({ stage, field: "teacher weights", value: `frozen-parameter digest ${digest}`, trunk: `digest ${trunk.frozenDigest}` })
  }
  return undefined
}

export const adaptTeacherCached = Stage.make({
  name: CACHED,
  description:
    "Partial-k adaptation (paper, sec. 3.1) on a teacher's cached frozen-trunk tokens (paper/trunk-features): " +
    "no augmentation (= paper/adapt-teacher partial-k with cropScaleMin 1, flip 0), seeded batch order, resumable per epoch",
  config: CachedAdaptConfig,
  inputs: { teacher: TeacherWeights, trunk: TrunkFeatures },
  output: AdaptedTeacher,
  run: ({ config: c, inputs }) =>
    Effect.gen(function* () {
      yield* TensorBackend
      const started = performance.now()
      const source = inputs.teacher.info
      const trunk = inputs.trunk.info
      const bad = (field: string, value: unknown, expected: string) =>
        new StageConfigError({ stage: CACHED, field, value: JSON.stringify(value), expected })
      const depth = source.config.depth
      const mode = parseAdaptationMode(`partial-${c.k}`, depth)
      if ("_tag" in mode) return yield* bad("k", c.k, `1 <= k <= ${depth} (the depth of teacher ${source.teacher})`)
      const mismatch = trunkMismatch(CACHED, c, inputs.teacher, trunk)
      if (mismatch !== undefined) return yield* mismatch
      const n = trunk.images
      if (n < c.batchSize) return yield* bad("batchSize", c.batchSize, `at most the ${n} training images`)
      if (c.warmupEpochs >= c.epochs) return yield* bad("warmupEpochs", c.warmupEpochs, `fewer than epochs (${c.epochs})`)
      const info: TeacherInfo = { ...source, config: { ...source.config, numClasses: trunk.classes.length } }
      // The batch order of `trainLoader` (same seed, shuffle and dropLast over the same count): a loader over
      // 1x1 stand-ins of the N images, so batch (e, b) names the images paper/adapt-teacher's batch (e, b) holds.
      const stand: ImageSet = {
        name: trunk.datasetName, split: "train", images: new Uint8Array(n), labels: Int32Array.from(trunk.labels),
        count: n, channels: 1, height: 1, width: 1, classes: trunk.classes,
      }
      const order = yield* makeLoader(stand, { batchSize: c.batchSize, normalization: { mean: [0], std: [1] }, seed: c.seed, dropLast: true })
      const row = trunk.tokens * trunk.dim
      const tokensOf = (indices: Int32Array): tf.Tensor => {
        const data = new Float32Array(indices.length * row)
        indices.forEach((i, j) => data.set(inputs.trunk.tokens.subarray(i * row, (i + 1) * row), j * row))
        return tf.tensor3d(data, [indices.length, trunk.tokens, trunk.dim], "float32")
      }
      const from = depth - c.k
      const all = Int32Array.from({ length: n }, (_, i) => i)
      return yield* runAdaptation({
        stage: CACHED,
        teacher: inputs.teacher,
        info,
        mode,
        recipe: c,
        identity: { ...c, teacher: source.teacher, arch: source.arch, frozen: trunk.frozenDigest },
        data: { dataset: trunk.datasetName, classes: trunk.classes, images: n },
        stepsPerEpoch: order.batchesPerEpoch,
        notes: { count: ", on cached trunk tokens (no augmentation)", accuracy: ", cached trunk" },
        fetch: (epoch, index) => Effect.sync(() => order.batch(epoch, index)),
        step: (model, params, optimizer, batch, lr) => ceStep(params, optimizer, () => topLogits(model, tokensOf(batch.indices), from), batch.labels, lr, c.weightDecay),
        trainAccuracy: (model) =>
          top1By(Math.ceil(n / c.batchSize), (b) => {
            const indices = all.subarray(b * c.batchSize, Math.min(n, (b + 1) * c.batchSize))
            return { logits: () => topLogits(model, tokensOf(indices), from), labels: stand.labels.subarray(b * c.batchSize, Math.min(n, (b + 1) * c.batchSize)) }
          }),
        started,
      })
    }),
})
