/**
 * The reader interface: how a dataset spec becomes an ImageSet. A plugin adds
 * a file format by registering one of these (see `registry.ts`).
 */
import type { Effect } from "effect"
import type { DatasetReadError } from "./errors.ts"
import type { ImageSet } from "./ImageSet.ts"
import type { DatasetSpec } from "./spec.ts"
import type { FolderIndex } from "./stream/folderIndex.ts"

/** How a streamable split is read batch by batch (`source.ts`): its file index, no pixels, and the decode settings. */
export interface StreamPlan {
  readonly index: FolderIndex
  /** Decode worker threads (0: on the main thread). */
  readonly workers: number
  /** Eval transform: the shorter side resized to size / cropPct, then the centre crop. */
  readonly cropPct: number
  /** Batches decoded ahead of the consumer: with the one being consumed, the bound on decoded images held. */
  readonly prefetch: number
}

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
  /**
   * Present when the reader can stream a split (`imagenet-folder`): the
   * stages that iterate batches then decode them from files as they go
   * (`openSplit` in `source.ts`) instead of calling `load`.
   */
  readonly stream?: (spec: DatasetSpec) => Effect.Effect<StreamPlan, DatasetReadError>
}
