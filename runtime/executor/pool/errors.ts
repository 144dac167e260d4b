/** Typed errors of running a fan-out item in a pool worker. */
import { Data } from "effect"

/** The stage's own `run` failed in the worker (or its inputs, config or backend could not be prepared there). */
export class StageFailedInWorker extends Data.TaggedError("StageFailedInWorker")<{
  readonly node: string
  /** The tag of the stage's error (e.g. `DatasetNotFound`), as in-process runs report it. */
  readonly errorTag: string
  readonly detail: string
}> {
  override get message() {
    return `${this.errorTag}: ${this.detail}`
  }
}

/** The stage ran, but its value could not be encoded into its output artifact. */
export class WorkerOutputFailed extends Data.TaggedError("WorkerOutputFailed")<{
  readonly node: string
  readonly detail: string
}> {
  override get message() {
    return this.detail
  }
}

/** A pool worker could not be started, crashed, or exited while running an item. */
export class WorkerCrashed extends Data.TaggedError("WorkerCrashed")<{
  readonly node: string
  readonly detail: string
}> {
  override get message() {
    return `the pool worker running ${this.node} stopped: ${this.detail}`
  }
}
