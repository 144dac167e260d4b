/**
 * The dataset registry: names -> entries that resolve to specs, and reader
 * keys -> readers. A pipeline names a dataset ("fashion-mnist", split
 * "train"); a plugin adds datasets or readers with `register` /
 * `readers.register` without touching this library. Duplicate names fail
 * (never overwrite); unknown names fail naming the known ones, with a
 * "did you mean" when one is close.
 */
import { Effect } from "effect"
import type { UnknownNameError } from "../../dsl/errors.ts"
import { Registry } from "../../dsl/Registry.ts"
import { type DatasetMissingError, type DatasetReadError, DatasetSpecError } from "./errors.ts"
import type { ImageSet } from "./ImageSet.ts"
import type { DatasetReader } from "./reader.ts"
import type { DatasetSpec, Split } from "./spec.ts"

/** Where datasets live when nothing else is configured (Debian's `dataset-*` packages). */
export const DEFAULT_DATA_ROOT = "/usr/share/datasets"
/** Environment variable naming the data root. */
export const DATA_DIR_ENV = "SSL_KD_DATA_DIR"

/** How a name becomes a spec: the split, the data root and reader-option overrides. */
export interface ResolveOptions {
  readonly split?: Split
  /** Explicit data root (CLI `--data-dir`); wins over the environment. */
  readonly dataDir?: string
  /** Environment to read `SSL_KD_DATA_DIR` from (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>
  /** Replaces reader options of the resolved spec (e.g. a synthetic `count`). */
  readonly overrides?: DatasetSpec["options"]
}

/** What an entry's `resolve` receives. */
export interface ResolveContext {
  readonly split: Split
  /** The data root in effect and where it came from. */
  readonly dataRoot: string
  readonly dataRootSource: "option" | "env" | "default"
}

/** A named dataset: resolves to a concrete spec (probing which files exist, e.g. `.gz` or raw). */
export interface DatasetEntry {
  readonly name: string
  readonly summary: string
  readonly resolve: (ctx: ResolveContext) => Effect.Effect<DatasetSpec, DatasetMissingError>
}

/** The data root: explicit option, else `SSL_KD_DATA_DIR`, else `/usr/share/datasets`. */
export const dataRoot = (o: ResolveOptions = {}): Pick<ResolveContext, "dataRoot" | "dataRootSource"> => {
  if (o.dataDir !== undefined && o.dataDir !== "") return { dataRoot: o.dataDir, dataRootSource: "option" }
  const env = (o.env ?? process.env)[DATA_DIR_ENV]
  if (env !== undefined && env !== "") return { dataRoot: env, dataRootSource: "env" }
  return { dataRoot: DEFAULT_DATA_ROOT, dataRootSource: "default" }
}

/**
 * The datasets by name (a {@link Registry} of entries), with the readers
 * they resolve to in `readers` (a second {@link Registry}, keyed by reader
 * name). Both take `register(name, value)`, `get(name)`, `names()`.
 */
export class DatasetRegistry extends Registry<DatasetEntry> {
  readonly readers = new Registry<DatasetReader>("dataset reader")

  constructor() {
    super("dataset")
  }

  /** Resolves a dataset name to a concrete spec for one split. */
  resolve(
    name: string,
    o: ResolveOptions = {},
  ): Effect.Effect<DatasetSpec, UnknownNameError | DatasetMissingError> {
    return this.get(name).pipe(
      Effect.flatMap((e) => e.resolve({ split: o.split ?? "train", ...dataRoot(o) })),
      Effect.map((spec) => (o.overrides === undefined ? spec : { ...spec, options: { ...spec.options, ...o.overrides } })),
      Effect.tap((spec) => this.readers.get(spec.reader)),
    )
  }

  /** Absolute files and folders `spec` reads (pure given the registered reader). */
  files(spec: DatasetSpec): Effect.Effect<ReadonlyArray<string>, UnknownNameError> {
    return this.readers.get(spec.reader).pipe(Effect.map((r) => r.files(spec)))
  }

  /** Reads and validates the split `spec` describes. */
  load(spec: DatasetSpec): Effect.Effect<ImageSet, DatasetReadError | UnknownNameError> {
    return this.readers.get(spec.reader).pipe(
      Effect.flatMap((r) => r.load(spec)),
      Effect.flatMap((set) =>
        set.classes.length === 0
          ? Effect.fail(
              new DatasetSpecError({ dataset: spec.name, field: "classes", value: "[]", expected: "at least one class" }),
            )
          : Effect.succeed(set),
      ),
    )
  }
}
