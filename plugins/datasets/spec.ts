/**
 * The downstream-dataset spec: everything needed to read one split, as plain
 * data (name, reader, path, split, classes, image size, normalization and
 * reader options). A pipeline names a dataset; the registry resolves the name
 * to a spec; the spec's reader lists its files (a pure function of the spec)
 * so the runtime can hash them before a stage runs.
 */
import { Effect, Schema } from "effect"
import { DatasetSpecError } from "./errors.ts"

/** The splits every built-in dataset has. */
export const Split = Schema.Literals(["train", "test"])
export type Split = typeof Split.Type

/** Per-channel normalization applied after scaling pixels to [0, 1]: `(x - mean) / std`. */
export const Normalization = Schema.Struct({
  mean: Schema.Array(Schema.Finite),
  std: Schema.Array(Schema.Finite.check(Schema.isGreaterThan(0))),
})
export type Normalization = typeof Normalization.Type

const Dim = (maximum: number) => Schema.Int.check(Schema.isBetween({ minimum: 1, maximum }))

/** Shape of one decoded image (CHW). */
export const ImageSize = Schema.Struct({ channels: Dim(4), height: Dim(4096), width: Dim(4096) })
export type ImageSize = typeof ImageSize.Type

/** A reader option value. */
export const OptionValue = Schema.Union([Schema.String, Schema.Finite, Schema.Boolean, Schema.Array(Schema.String)])

/** A resolved dataset split, ready to be read. */
export const DatasetSpec = Schema.Struct({
  /** Registry name, e.g. "fashion-mnist". */
  name: Schema.String,
  /** Reader key, e.g. "idx", "cifar10", "image-folder", "synthetic". */
  reader: Schema.String,
  /** Root folder of the dataset's files ("" for generated datasets). */
  path: Schema.String,
  split: Split,
  /** Class names in label order; empty means "take them from the data" (image folders). */
  classes: Schema.Array(Schema.String),
  imageSize: ImageSize,
  normalization: Normalization,
  /** Reader-specific options (file names relative to `path`, variants, ...), decoded by the reader's own schema. */
  options: Schema.Record(Schema.String, OptionValue),
  /**
   * How the source images became `imageSize` (resize, grey conversion, patches), in words, for reports;
   * absent when the files already have the spec's shape.
   */
  preprocessing: Schema.optional(Schema.String),
})
export type DatasetSpec = typeof DatasetSpec.Type

const describe = (u: unknown): string => {
  try {
    return JSON.stringify(u) ?? String(u)
  } catch {
    return String(u)
  }
}

/** Validates an untrusted spec (e.g. from a pipeline config file). */
export const decodeSpec = (u: unknown): Effect.Effect<DatasetSpec, DatasetSpecError> =>
  Schema.decodeUnknownEffect(DatasetSpec)(u).pipe(
    Effect.mapError(
      (e) =>
        new DatasetSpecError({
          dataset: typeof u === "object" && u !== null && "name" in u ? String(u.name) : "<unnamed>",
          field: "spec",
          value: describe(u).slice(0, 200),
          expected: e.message,
        }),
    ),
  )

/** Decodes `spec.options` with a reader's schema; a failure names the dataset and the option. */
export const decodeOptions = <S extends Schema.Top & { readonly DecodingServices: never }>(
  spec: DatasetSpec,
  schema: S,
): Effect.Effect<S["Type"], DatasetSpecError> =>
  Schema.decodeUnknownEffect(schema)(spec.options).pipe(
    Effect.mapError(
      (e) =>
        new DatasetSpecError({
          dataset: spec.name,
          field: "options",
          value: describe(spec.options).slice(0, 200),
          expected: e.message,
        }),
    ),
  )

/** Checks that normalization has one mean and one std per channel. */
export const checkNormalization = (spec: DatasetSpec): Effect.Effect<void, DatasetSpecError> => {
  const c = spec.imageSize.channels
  if (spec.normalization.mean.length === c && spec.normalization.std.length === c) return Effect.void
  return Effect.fail(
    new DatasetSpecError({
      dataset: spec.name,
      field: "normalization",
      value: describe(spec.normalization),
      expected: `one mean and one std per channel (${c})`,
    }),
  )
}
