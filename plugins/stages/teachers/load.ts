/**
 * Teachers from files, and the random-init reference:
 *
 * - `teachers/load-checkpoint`: a registered teacher's backbone from a
 *   safetensors file or a PyTorch `.pth` (official DINO / MAE layouts, read
 *   by the restricted unpickler, `checkpoints/pth/`): the teacher's own key map (e.g. DINO's `backbone.`
 *   prefix), then timm's `checkpoint_filter_fn` equivalent (MAE's decoder
 *   and mask token dropped, empty heads dropped, `pos_embed` resampled),
 *   then every name and shape checked against the architecture;
 * - `teachers/random-init`: a teacher's architecture with fresh weights (the
 *   baseline "no pretraining" of k-NN and Figure 1).
 */
import { Effect, Schema } from "effect"
import { Config, Stage } from "../../../dsl/index.ts"
import type { TeacherDefinition } from "../../../dsl/Teacher.ts"
import { TensorBackend } from "../../../runtime/backend/TensorBackend.ts"
import { loadVitState } from "../../checkpoints/vitCheckpoint.ts"
import { readStateFile } from "../../checkpoints/stateFile.ts"
import { type FloatTensor, timmCheckpointFilter } from "../../checkpoints/timmFilter.ts"
import { Datasets } from "../../datasets/builtins.ts"
import { createVit, disposeVit } from "../../models/vit/model.ts"
import { modelState, TeacherWeights } from "../../teachers/artifact.ts"
import { archFields, resolveArch } from "../../teachers/architecture.ts"
import { Teachers } from "../../teachers/builtins.ts"
import { StageConfigError } from "../../training/errors.ts"

/** The teacher's normalization, or the dataset's when the teacher defers to it. */
const normalizationOf = (t: TeacherDefinition, dataset: string) =>
  t.normalization !== "dataset"
    ? Effect.succeed({ mean: [...t.normalization.mean], std: [...t.normalization.std] })
    : Datasets.use((r) => r.resolve(dataset, { split: "train" })).pipe(Effect.map((s) => ({ mean: [...s.normalization.mean], std: [...s.normalization.std] })))

/** Applies the teacher's key map (a key mapped to `undefined` is dropped). */
const renamed = (t: TeacherDefinition, state: ReadonlyMap<string, FloatTensor>): ReadonlyMap<string, FloatTensor> => {
  const map = t.weights.renameKey
  if (map === undefined) return state
  return new Map([...state].flatMap(([k, v]) => {
    const to = map(k)
    return to === undefined ? [] : [[to, v] as const]
  }))
}

export const loadTeacherCheckpoint = Stage.make({
  name: "teachers/load-checkpoint",
  description: "a registered teacher's backbone from a safetensors checkpoint (timm names) or an official PyTorch .pth (DINO / MAE layouts)",
  config: Schema.Struct({
    teacher: Schema.String,
    /** Safetensors or PyTorch `.pth` file; empty: the teacher's default checkpoint. */
    checkpoint: Config.withDefault(Schema.String, ""),
    /** Dataset whose normalization applies when the teacher defers to the data. */
    dataset: Config.withDefault(Schema.String, "fashion-mnist"),
    ...archFields,
  }),
  inputs: {},
  output: TeacherWeights,
  reads: (c) => {
    const file = c.checkpoint !== "" ? c.checkpoint : Effect.runSync(Teachers.use((r) => r.get(c.teacher)).pipe(Effect.map((t) => t.weights.checkpoint ?? ""), Effect.orElseSucceed(() => "")))
    return file === "" ? [] : [file]
  },
  run: ({ config: c }) =>
    Effect.gen(function* () {
      yield* TensorBackend
      const t = yield* (yield* Teachers).get(c.teacher)
      const file = c.checkpoint !== "" ? c.checkpoint : t.weights.checkpoint
      if (file === undefined) {
        return yield* new StageConfigError({ stage: "teachers/load-checkpoint", field: "checkpoint", value: '""', expected: `a file (teacher "${t.name}" has no default checkpoint; pretrain it with stage ${t.pretrain.name})` })
      }
      const read = yield* readStateFile(file)
      const raw = renamed(t, read.state)
      const inChans = raw.get("patch_embed.proj.weight")?.shape[1]
      const { arch, config } = yield* resolveArch(t.architecture, c, inChans)
      const { state, notes } = timmCheckpointFilter(raw, config, { skipHead: true })
      const model = createVit(arch, config, 0)
      const weights = yield* loadVitState(model, state, file).pipe(
        Effect.map(() => modelState(model)),
        Effect.ensuring(Effect.sync(() => disposeVit(model))),
      )
      return {
        info: {
          teacher: t.name,
          family: t.family,
          arch,
          config,
          normalization: yield* normalizationOf(t, c.dataset),
          origin: { kind: "checkpoint" as const, file, notes: [...read.notes, ...notes] },
          losses: { epochs: [], steps: [] },
        },
        state: weights,
      }
    }),
})

export const randomTeacher = Stage.make({
  name: "teachers/random-init",
  description: "a teacher's architecture with fresh (timm-initialised) weights: the no-pretraining reference",
  config: Schema.Struct({
    teacher: Schema.String,
    seed: Config.withDefault(Schema.Int, 0),
    /** Dataset whose channels and normalization the model takes. */
    dataset: Config.withDefault(Schema.String, "fashion-mnist"),
    ...archFields,
  }),
  inputs: {},
  output: TeacherWeights,
  run: ({ config: c }) =>
    Effect.gen(function* () {
      yield* TensorBackend
      const t = yield* (yield* Teachers).get(c.teacher)
      const spec = yield* (yield* Datasets).resolve(c.dataset, { split: "train" })
      const { arch, config } = yield* resolveArch(t.architecture, c, spec.imageSize.channels)
      const model = createVit(arch, config, c.seed)
      const state = modelState(model)
      disposeVit(model)
      return {
        info: {
          teacher: `${t.name} (random init)`,
          family: "other" as const,
          arch,
          config,
          normalization: { mean: [...spec.normalization.mean], std: [...spec.normalization.std] },
          origin: { kind: "random" as const, seed: c.seed },
          losses: { epochs: [], steps: [] },
        },
        state,
      }
    }),
})
