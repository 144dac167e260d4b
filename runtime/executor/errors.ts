/** Typed errors of stage execution, as they appear in run records and `--json`. */
import { Data } from "effect"

/** A stage's own `run` failed with a typed error or a defect. */
export class StageFailed extends Data.TaggedError("StageFailed")<{
  readonly node: string
  readonly stage: string
  readonly errorTag: string
  readonly detail: string
}> {
  override get message() {
    return `stage ${this.node} (${this.stage}) failed: ${this.errorTag}: ${this.detail}`
  }
}

/** A stage did not run because an upstream stage failed. */
export class UpstreamFailed extends Data.TaggedError("UpstreamFailed")<{
  readonly node: string
  readonly upstream: string
}> {
  override get message() {
    return `stage ${this.node} not run: upstream stage ${this.upstream} failed`
  }
}

/** A computed artifact could not be encoded or stored. */
export class OutputError extends Data.TaggedError("OutputError")<{
  readonly node: string
  readonly detail: string
}> {
  override get message() {
    return `stage ${this.node}: its output could not be stored: ${this.detail}`
  }
}
