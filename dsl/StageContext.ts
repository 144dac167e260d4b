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

/**
 * One record of a stage's metrics (e.g. a training loss): numbers by name,
 * with the epoch and/or step they belong to; without either, a summary value
 * (e.g. a final top-1). The runtime stores them beside the cache entry and
 * publishes them as CSV and JSON lines (see `ssl-kd runs`).
 */
export interface MetricRecord {
  readonly epoch?: number
  readonly step?: number
  readonly [name: string]: number | undefined
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
    /** Record metrics (optional: contexts made by tests may leave it out; stages call `ctx.metric?.(...)`). */
    readonly metric?: (record: MetricRecord) => Effect.Effect<void>
    /**
     * Absolute path of a folder private to this cache key, kept across
     * interrupted runs and removed once the stage's entry is committed.
     */
    readonly scratchDir: string
  }
>()("ssl-kd/StageContext") {}
