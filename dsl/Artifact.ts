/**
 * Artifacts: the typed outputs of stages, with a codec to and from named byte
 * files. Codecs are pure; the runtime decides where the bytes live.
 *
 * An artifact type is identified by its `name` literal: two artifacts with the
 * same value shape but different names cannot be wired into each other.
 *
 * @example
 * const Metrics = Artifact.json("Metrics", Schema.Struct({ top1: Schema.Finite }))
 */
import { Data, Effect, Schema, SchemaIssue } from "effect"

/** One payload file of an artifact: a relative name and its bytes. */
export interface ArtifactFile {
  readonly name: string
  readonly bytes: Uint8Array
}

/** Raised when stored bytes do not decode into the artifact's value. */
export class ArtifactDecodeError extends Data.TaggedError("ArtifactDecodeError")<{
  readonly artifact: string
  readonly file: string
  readonly reason: string
}> {
  override get message() {
    return `artifact ${this.artifact}: file ${this.file} does not decode: ${this.reason}`
  }
}

/** A typed artifact: its name and its codec. `A` is the in-memory value. */
export interface ArtifactType<Name extends string = string, A = unknown> {
  readonly _tag: "ArtifactType"
  readonly name: Name
  readonly encode: (value: A) => ReadonlyArray<ArtifactFile>
  readonly decode: (files: ReadonlyMap<string, Uint8Array>) => Effect.Effect<A, ArtifactDecodeError>
  /** Phantom field: keeps `A` invariant so wiring checks are exact. */
  readonly "~value"?: (a: A) => A
}

/** The in-memory value of an artifact type. */
export type ValueOf<T> = T extends ArtifactType<string, infer A> ? A : never

/**
 * An input that receives every item of a fan-out group (see
 * `Pipeline.fanOut`), as `{ item, value }` pairs in the group's item order.
 */
export interface Many<T extends ArtifactType<string, any>> {
  readonly _tag: "Many"
  readonly of: T
}

/** Declares a stage input that gathers a whole fan-out group. */
export const many = <T extends ArtifactType<string, any>>(of: T): Many<T> => ({ _tag: "Many", of })

/** Value delivered for a `Many<T>` input. */
export type ManyValue<T extends ArtifactType<string, any>> = ReadonlyArray<{ readonly item: string; readonly value: ValueOf<T> }>

/** Define an artifact with a custom codec (tensors, model weights, images). */
export const make = <const Name extends string, A>(
  name: Name,
  codec: Pick<ArtifactType<Name, A>, "encode" | "decode">,
): ArtifactType<Name, A> => ({ _tag: "ArtifactType", name, encode: codec.encode, decode: codec.decode })

const utf8 = new TextEncoder()
const fromUtf8 = new TextDecoder("utf-8", { fatal: true })
const issueFormatter = SchemaIssue.makeFormatterStandardSchemaV1()

/**
 * A JSON artifact (`value.json`) validated by a schema on both write and read,
 * so a stored file edited by hand into a wrong shape is rejected, not used.
 */
export const json = <const Name extends string, S extends Schema.Codec<any, any, never, never>>(
  name: Name,
  schema: S,
): ArtifactType<Name, S["Type"]> => {
  const encodeSync = Schema.encodeSync(schema)
  const decodeExit = Schema.decodeUnknownExit(schema)
  return make<Name, S["Type"]>(name, {
    encode: (value) => [{ name: "value.json", bytes: utf8.encode(JSON.stringify(encodeSync(value), null, 2)) }],
    decode: (files) =>
      Effect.gen(function* () {
        const bytes = files.get("value.json")
        if (bytes === undefined) {
          return yield* new ArtifactDecodeError({ artifact: name, file: "value.json", reason: "missing" })
        }
        const parsed = yield* Effect.try({
          try: () => JSON.parse(fromUtf8.decode(bytes)) as unknown,
          catch: (e) => new ArtifactDecodeError({ artifact: name, file: "value.json", reason: `invalid JSON (${String(e)})` }),
        })
        return yield* decodeExit(parsed).pipe(
          Effect.mapError(
            (err) =>
              new ArtifactDecodeError({
                artifact: name,
                file: "value.json",
                reason: issueFormatter(err.issue)
                  .issues.map((i) => `${i.message}${i.path && i.path.length > 0 ? ` at ${i.path.join(".")}` : ""}`)
                  .join("; "),
              }),
          ),
        )
      }),
  })
}

/** Raw named byte files, passed through unchanged (e.g. a safetensors file). */
export const files = <const Name extends string>(name: Name): ArtifactType<Name, ReadonlyMap<string, Uint8Array>> =>
  make(name, {
    encode: (value) => [...value].map(([n, bytes]) => ({ name: n, bytes })),
    decode: (stored) => Effect.succeed(new Map(stored)),
  })
