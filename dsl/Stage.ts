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

/** A stage input: one upstream artifact, or all items of a fan-out group. */
export type InputSpec = ArtifactType<string, any> | Many<ArtifactType<string, any>>

export type InputSpecs = Readonly<Record<string, InputSpec>>

/** The values a stage's `run` receives for its declared inputs. */
export type InputValues<I extends InputSpecs> = {
  readonly [K in keyof I]: I[K] extends Many<infer T> ? ManyValue<T> : ValueOf<I[K]>
}

/** A config schema: an Effect Schema with no service requirements. */
export type ConfigSchema = Schema.Codec<any, any, never, never>

/** Where a stage was declared; used by the runtime's code fingerprint. */
export interface SourceLocation {
  readonly file: string
  readonly line: number
  readonly column: number
}

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
  /** Declaration site, captured by `make` (undefined when not available). */
  readonly location: SourceLocation | undefined
}

/** Any stage; the type pipelines and runtimes work with. */
export type AnyStage = Stage<string, ConfigSchema, InputSpecs, ArtifactType<string, any>, any, any>

export type ConfigOf<S extends AnyStage> = S["config"]["Type"]
/** What a user writes for a stage's config: the schema's encoded side. */
export type ConfigInput<S extends AnyStage> = S["config"]["Encoded"]
export type ErrorOf<S> = S extends Stage<any, any, any, any, infer E, any> ? E : never
export type ServicesOf<S> = S extends Stage<any, any, any, any, any, infer R> ? Exclude<R, StageContext> : never

const STAGE_NAME = /^[a-z][a-z0-9-]*(\/[a-z][a-z0-9-]*)*$/

/**
 * The file, line and column of one V8 stack frame ("    at f (FILE:L:C)" or
 * "    at FILE:L:C"); paths may contain spaces and parentheses, `file://`
 * URLs are decoded. Undefined for frames without a position.
 */
export const parseFrame = (frame: string): SourceLocation | undefined => {
  const body = frame.replace(/^\s*at\s+/, "").trimEnd()
  // "name (location)": the location is inside the last parenthesis pair that closes the frame
  const inner = body.endsWith(")") && body.includes(" (") ? body.slice(body.indexOf(" (") + 2, -1) : body
  const m = /^(?:async\s+)?(.+):(\d+):(\d+)$/.exec(inner)
  if (m === null || m[1] === undefined) return undefined
  const file = m[1].startsWith("file://") ? decodeURIComponent(new URL(m[1]).pathname) : m[1]
  return { file, line: Number(m[2]), column: Number(m[3]) }
}

/** Reads the caller's file and position from a stack trace (source-mapped under tsx and vitest). */
const callerLocation = (): SourceLocation | undefined => {
  const stack = new Error().stack?.split("\n") ?? []
  // [0] "Error", [1] callerLocation, [2] make, [3] the declaring module
  const frame = stack[3]
  return frame === undefined ? undefined : parseFrame(frame)
}

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
    ...(def.summary === undefined ? {} : { summary: def.summary }),
    location: callerLocation(),
  }
}
