/**
 * Failure modes of the teacher plugins and their stages: one tagged error per
 * mode, the data in fields, a message naming the file, field or value and
 * what was expected.
 */
import { Data } from "effect"

/** A stage setting that does not fit the data or the model (a crop size that is no multiple of the patch, ...). */
export class TeacherStageConfigError extends Data.TaggedError("TeacherStageConfigError")<{
  readonly stage: string
  readonly field: string
  readonly value: string
  readonly expected: string
}> {
  override get message(): string {
    return `stage ${this.stage}: ${this.field} is ${this.value}; expected ${this.expected}`
  }
}

