/**
 * The model registry: architectures by name (like timm's `register_model`).
 * A duplicate name is an error, never a silent overwrite; an unknown name
 * fails with the known names and "did you mean".
 */
import { Effect } from "effect"
import { DuplicateModel, InvalidModelConfig, UnknownModel } from "./errors.ts"
import { suggest } from "../../dsl/Names.ts"
import { validateConfig, type VitConfig } from "./vit/config.ts"
import { createVit, type VitModel } from "./vit/model.ts"

export interface ModelEntry {
  readonly name: string
  readonly config: VitConfig
  /** One line: what the variant is and where it is used. */
  readonly description: string
}

/** Overrides accepted when creating a registered model (as timm's `create_model` kwargs). */
export interface CreateOptions {
  readonly numClasses?: number
  readonly inChans?: number
  readonly imgSize?: number
  /** Seed of the parameter initialisation. */
  readonly seed?: number
}

export class ModelRegistry {
  readonly #entries = new Map<string, ModelEntry>()

  /** Adds an architecture; fails on a taken name or an invalid config. */
  register(entry: ModelEntry): Effect.Effect<void, DuplicateModel | InvalidModelConfig> {
    return Effect.suspend((): Effect.Effect<void, DuplicateModel | InvalidModelConfig> => {
      if (this.#entries.has(entry.name)) return Effect.fail(new DuplicateModel({ name: entry.name }))
      const bad = validateConfig(entry.name, entry.config)
      if (bad !== undefined) return Effect.fail(bad)
      this.#entries.set(entry.name, entry)
      return Effect.void
    })
  }

  /** Registered names, sorted. */
  names(): ReadonlyArray<string> {
    return [...this.#entries.keys()].sort()
  }

  lookup(name: string): Effect.Effect<ModelEntry, UnknownModel> {
    return Effect.suspend((): Effect.Effect<ModelEntry, UnknownModel> => {
      const entry = this.#entries.get(name)
      if (entry !== undefined) return Effect.succeed(entry)
      const known = this.names()
      return Effect.fail(new UnknownModel({ name, known, suggestions: suggest(name, known) }))
    })
  }

  /** The config a `create` with these options would build (validated). */
  resolve(name: string, options: CreateOptions = {}): Effect.Effect<VitConfig, UnknownModel | InvalidModelConfig> {
    return Effect.flatMap(this.lookup(name), (entry) => {
      const config: VitConfig = {
        ...entry.config,
        ...(options.numClasses === undefined ? {} : { numClasses: options.numClasses }),
        ...(options.inChans === undefined ? {} : { inChans: options.inChans }),
        ...(options.imgSize === undefined ? {} : { imgSize: options.imgSize }),
      }
      const bad = validateConfig(name, config)
      return bad === undefined ? Effect.succeed(config) : Effect.fail(bad)
    })
  }

  /** Allocates a model with fresh parameters (dispose with `disposeVit`). */
  create(name: string, options: CreateOptions = {}): Effect.Effect<VitModel, UnknownModel | InvalidModelConfig> {
    return Effect.map(this.resolve(name, options), (config) => createVit(name, config, options.seed ?? 0))
  }
}
