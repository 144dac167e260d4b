/**
 * The reader interface: how a dataset spec becomes an ImageSet. A plugin adds
 * a file format by registering one of these (see `registry.ts`).
 */
import type { Effect } from "effect"
import type { DatasetReadError } from "./errors.ts"
import type { ImageSet } from "./ImageSet.ts"
import type { DatasetSpec } from "./spec.ts"

/** Reads one dataset format. */
export interface DatasetReader {
  /** Key that specs name in their `reader` field. */
  readonly name: string
  readonly summary: string
  /**
   * Absolute files and folders this spec reads: a pure function of the spec,
   * so the runtime can hash them (`identifyPaths`) before the stage runs.
   */
  readonly files: (spec: DatasetSpec) => ReadonlyArray<string>
  /** Reads and validates the split; every failure is a typed reader error. */
  readonly load: (spec: DatasetSpec) => Effect.Effect<ImageSet, DatasetReadError>
}
