/**
 * The model registry: architectures by name (like timm's `register_model`),
 * a {@link Registry} that validates each config as it is registered. A
 * duplicate name is an error, never a silent overwrite; an unknown name fails
 * with the known names and "did you mean".
 */
import { Effect } from "effect"
import type { UnknownNameError } from "../../dsl/errors.ts"
import { Registry } from "../../dsl/Registry.ts"
import type { InvalidModelConfig } from "./errors.ts"
import { validateConfig, type VitConfig } from "./vit/config.ts"
import { createVit, type VitModel } from "./vit/model.ts"

export interface ModelEntry {
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

/** Models by name; `resolve` / `create` build from a name with timm's `create_model` overrides. */
export class ModelRegistry extends Registry<ModelEntry, InvalidModelConfig> {
  constructor() {
    super("model", { validate: (name, entry) => validateConfig(name, entry.config) })
  }

  /** The config a `create` with these options would build (validated). */
  resolve(name: string, options: CreateOptions = {}): Effect.Effect<VitConfig, UnknownNameError | InvalidModelConfig> {
    return Effect.flatMap(this.get(name), (entry) => {
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
  create(name: string, options: CreateOptions = {}): Effect.Effect<VitModel, UnknownNameError | InvalidModelConfig> {
    return Effect.map(this.resolve(name, options), (config) => createVit(name, config, options.seed ?? 0))
  }
}
