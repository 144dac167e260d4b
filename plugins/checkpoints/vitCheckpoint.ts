/**
 * ViT weights to and from safetensors files under timm's names and PyTorch
 * layouts: a file ssl-kd writes loads in timm (`load_checkpoint`), and timm's
 * files (e.g. `vit_base_patch16_224.dino`, `.mae`) load here through
 * {@link timmCheckpointFilter}.
 */
import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import { paramSpecs } from "../models/vit/params.ts"
import type { VitModel } from "../models/vit/model.ts"
import { CheckpointMismatch, type CheckpointIoError, type SafetensorsFormatError } from "./errors.ts"
import type { SafetensorsContents } from "./safetensors/decode.ts"
import type { FloatDtype } from "./safetensors/dtype.ts"
import { entryToFloat32, readSafetensors, writeSafetensors } from "./safetensors/file.ts"
import { type FilterOptions, type FloatTensor, timmCheckpointFilter } from "./timmFilter.ts"

const sameShape = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i])

/**
 * Copies a state dict into the model's variables. Every missing, unexpected
 * or wrongly shaped key is reported at once; nothing is assigned unless all fit.
 * With `keepHead`, a missing `head.*` keeps the model's own (new) head.
 */
export const loadVitState = (
  model: VitModel,
  state: ReadonlyMap<string, FloatTensor>,
  file: string,
  options: { readonly keepHead?: boolean } = {},
): Effect.Effect<void, CheckpointMismatch> =>
  Effect.suspend(() => {
    const specs = paramSpecs(model.config)
    const expected = new Set(specs.map((s) => s.name))
    const mayMiss = (name: string) => options.keepHead === true && name.startsWith("head.")
    const missing = specs.filter((s) => !state.has(s.name) && !mayMiss(s.name)).map((s) => s.name)
    const unexpected = [...state.keys()].filter((k) => !expected.has(k))
    const wrongShape = specs.flatMap((s) => {
      const t = state.get(s.name)
      return t === undefined || sameShape(t.shape, s.shape) ? [] : [{ key: s.name, expected: s.shape, actual: t.shape }]
    })
    if (missing.length + unexpected.length + wrongShape.length > 0) {
      return Effect.fail(new CheckpointMismatch({ file, arch: model.arch, missing, unexpected, wrongShape }))
    }
    for (const s of specs) {
      const t = state.get(s.name)
      const v = model.params.get(s.name)
      if (t !== undefined && v !== undefined) tf.tidy(() => v.assign(tf.tensor(t.data, [...s.shape], "float32")))
    }
    return Effect.void
  })

/** All tensors of a file as float32 (F16/BF16 widened exactly). */
export const floatState = (contents: SafetensorsContents): ReadonlyMap<string, FloatTensor> =>
  new Map([...contents.tensors].map(([k, e]) => [k, { shape: e.shape, data: entryToFloat32(e) }]))

export interface LoadOptions extends FilterOptions {
  /** Apply {@link timmCheckpointFilter} (default true). `skipHead` also keeps the model's head when the file has none. */
  readonly filter?: boolean
}

/** Loads a safetensors checkpoint into a model; returns the filter's notes. */
export const loadVitCheckpoint = (
  model: VitModel,
  file: string,
  options: LoadOptions = {},
): Effect.Effect<ReadonlyArray<string>, CheckpointIoError | SafetensorsFormatError | CheckpointMismatch> =>
  Effect.gen(function*() {
    const contents = yield* readSafetensors(file)
    const raw = floatState(contents)
    const { state, notes } = options.filter === false ? { state: raw, notes: [] } : timmCheckpointFilter(raw, model.config, options)
    yield* loadVitState(model, state, file, { keepHead: options.skipHead === true })
    return notes
  })

export interface SaveOptions {
  /** Storage dtype (default F32). */
  readonly dtype?: FloatDtype
  /** Extra `__metadata__` entries (strings). */
  readonly metadata?: Readonly<Record<string, string>>
}

/** Writes the model's parameters under timm names, in timm's state_dict order. */
export const saveVitCheckpoint = (model: VitModel, file: string, options: SaveOptions = {}): Effect.Effect<void, CheckpointIoError> =>
  Effect.suspend(() => {
    const tensors = paramSpecs(model.config).flatMap((s) => {
      const v = model.params.get(s.name)
      return v === undefined ? [] : [{ name: s.name, shape: s.shape, data: Float32Array.from(v.dataSync()), dtype: options.dtype ?? "F32" }]
    })
    return writeSafetensors(file, tensors, { format: "pt", "ssl-kd.arch": model.arch, ...options.metadata })
  })
