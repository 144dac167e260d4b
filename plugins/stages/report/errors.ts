/**
 * Failure modes of `paper/report`. Missing results are not failures (they
 * render as "not run"); only a picture that cannot be rendered is.
 */
import { Data } from "effect"

/** A report file (a PNG of a figure) could not be produced. */
export class ReportRenderError extends Data.TaggedError("ReportRenderError")<{
  readonly file: string
  readonly reason: string
}> {
  override get message(): string {
    return `paper/report: could not render ${this.file}: ${this.reason}`
  }
}
