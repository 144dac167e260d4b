/**
 * Stages: the units a pipeline is made of. A stage has a name, a config
 * schema (validated, with defaults), typed inputs (artifacts of upstream
 * stages), a typed output artifact, typed errors, and a `run` returning an
 * Effect. Declared like an Effect workflow activity.
 *
 * @example
 * export const train = Stage.make({
 *   name: "train",
 *   config: Schema.Struct({ epochs: Schema.Int.pipe(Schema.optional, Schema.withDecodingDefault(Effect.succeed(3))) }),
 *   inputs: { data: Dataset },
 *   output: Model,
 *   run: ({ config, inputs }) => trainModel(inputs.data, config.epochs),
 * })
 */
import type { Effect, Schema } from "effect"
import type { ArtifactType, Many, ManyValue, ValueOf } from "./Artifact.ts"
import type { StageContext } from "./StageContext.ts"
import { callerSite, type SourceLocation } from "./internal/site.ts"

/** A stage input: one upstream artifact, or all items of a fan-out group. */
export type InputSpec = ArtifactType<string, any> | Many<ArtifactType<string, any>>

export type InputSpecs = Readonly<Record<string, InputSpec>>

/** The values a stage's `run` receives for its declared inputs. */
export type InputValues<I extends InputSpecs> = {
  readonly [K in keyof I]: I[K] extends Many<infer T> ? ManyValue<T> : ValueOf<I[K]>
}

/** A config schema: an Effect Schema with no service requirements. */
export type ConfigSchema = Schema.Codec<any, any, never, never>

export type { SourceLocation } from "./internal/site.ts"

export interface Stage<
  Name extends string,
  C extends ConfigSchema,
  I extends InputSpecs,
  O extends ArtifactType<string, any>,
  E,
  R,
> {
  readonly _tag: "Stage"
  readonly name: Name
  readonly description: string
  readonly config: C
  readonly inputs: I
  readonly output: O
  /**
   * Files or folders the stage reads, as a pure function of its config. The
   * runtime hashes their content (memoized by size and mtime) into the cache
   * key before the stage runs.
   */
  reads(config: C["Type"]): ReadonlyArray<string>
  // Method syntax on purpose: stages with specific inputs stay assignable to `AnyStage`.
  run(args: { readonly config: C["Type"]; readonly inputs: InputValues<I> }): Effect.Effect<ValueOf<O>, E, R | StageContext>
  /**
   * A few lines for the terminal about an output (e.g. a results table), which
   * `ssl-kd run` prints after the run, whether the stage ran or was served
   * from the cache; absent for most stages.
   */
  summary?(value: ValueOf<O>): string
  /**
   * The resource class the stage needs, as a function of its config: `"gpu"`
   * stages go only to cluster runners with a gpu slot (`ssl-kd runner --slots
   * gpu=M`), `"cpu"` ones (the default) only to runners with a cpu slot.
   * In-process and pool execution ignore it.
   */
  resource(config: C["Type"]): Resource
  /** Declaration site, captured by `make` (undefined when not available). */
  readonly location: SourceLocation | undefined
}

/** The resource classes of cluster scheduling. */
export type Resource = "cpu" | "gpu"

/** Any stage; the type pipelines and runtimes work with. */
export type AnyStage = Stage<string, ConfigSchema, InputSpecs, ArtifactType<string, any>, any, any>

/** What a user writes for a stage's config: the schema's encoded side. */
export type ConfigInput<S extends AnyStage> = S["config"]["Encoded"]
export type ErrorOf<S> = S extends Stage<any, any, any, any, infer E, any> ? E : never
export type ServicesOf<S> = S extends Stage<any, any, any, any, any, infer R> ? Exclude<R, StageContext> : never

const STAGE_NAME = /^[a-z][a-z0-9-]*(\/[a-z][a-z0-9-]*)*$/

const isResource = (r: unknown): r is Resource => r === "cpu" || r === "gpu"

/** The declared resource as a function of the config; a value other than "cpu" or "gpu" is a TypeError naming the stage. */
const resourceOf = <T>(stage: string, declared: Resource | ((config: T) => Resource) | undefined): ((config: T) => Resource) => {
  const bad = (r: unknown) => new TypeError(`stage ${JSON.stringify(stage)}: resource must be "cpu" or "gpu", got ${JSON.stringify(r) ?? String(r)}`)
  if (declared === undefined) return () => "cpu"
  if (typeof declared !== "function") {
    if (!isResource(declared)) throw bad(declared)
    return () => declared
  }
  return (config) => {
    const r: unknown = declared(config)
    if (!isResource(r)) throw bad(r)
    return r
  }
}

export { parseFrame } from "./internal/site.ts"

/**
 * Declare a stage. Its `name` identifies the implementation in cache keys
 * (lowercase, digits, `-`, `/`), so keep it stable and unique per
 * implementation; declare stages at a module's top level so the code
 * fingerprint can find them.
 */
export const make = <
  const Name extends string,
  C extends ConfigSchema,
  const I extends InputSpecs,
  O extends ArtifactType<string, any>,
  E = never,
  R = never,
>(def: {
  readonly name: Name
  readonly description?: string
  readonly config: C
  readonly inputs: I
  readonly output: O
  readonly reads?: (config: C["Type"]) => ReadonlyArray<string>
  readonly run: (args: { readonly config: C["Type"]; readonly inputs: InputValues<I> }) => Effect.Effect<ValueOf<O>, E, R>
  readonly summary?: (value: ValueOf<O>) => string
  /** `"cpu"` (default) or `"gpu"`, or a function of the config choosing one (e.g. by a `backend` field). */
  readonly resource?: Resource | ((config: C["Type"]) => Resource)
}): Stage<Name, C, I, O, E, Exclude<R, never>> => {
  if (!STAGE_NAME.test(def.name)) {
    throw new TypeError(
      `stage name ${JSON.stringify(def.name)} is invalid: expected lowercase letters, digits, '-' and '/' (e.g. "pretrain-dino")`,
    )
  }
  return {
    _tag: "Stage",
    name: def.name,
    description: def.description ?? "",
    config: def.config,
    inputs: def.inputs,
    output: def.output,
    reads: def.reads ?? (() => []),
    run: def.run,
    resource: resourceOf(def.name, def.resource),
    ...(def.summary === undefined ? {} : { summary: def.summary }),
    location: callerSite(),
  }
}
