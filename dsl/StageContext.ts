/**
 * What a running stage may ask of the runtime: report progress, log a line,
 * and a private scratch folder that survives interruption (for per-epoch
 * checkpoints of long training stages), keyed by the stage's cache key.
 *
 * The runtime provides it; tests can provide their own with `Layer.succeed`.
 */
import { Context, type Effect } from "effect"

export interface Progress {
  /** Work units done so far (e.g. steps) out of `total`. */
  readonly done: number
  readonly total: number
  /** Short status shown next to the bar, e.g. `loss 0.413`. */
  readonly note?: string
}

export class StageContext extends Context.Service<
  StageContext,
  {
    /** Pipeline node name, e.g. `evaluate[fmnist]`. */
    readonly node: string
    /** The stage's cache key (sha256 hex). */
    readonly key: string
    readonly progress: (p: Progress) => Effect.Effect<void>
    readonly log: (message: string) => Effect.Effect<void>
    /**
     * Absolute path of a folder private to this cache key, kept across
     * interrupted runs and removed once the stage's entry is committed.
     */
    readonly scratchDir: string
  }
>()("ssl-kd/StageContext") {}
