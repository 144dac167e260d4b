/**
 * Failure modes of the teacher plugins and their stages: one tagged error per
 * mode, the data in fields, a message naming the file, field or value and
 * what was expected.
 */
import { Data } from "effect"

/** A second teacher was registered under a name already taken. */
export class DuplicateTeacher extends Data.TaggedError("DuplicateTeacher")<{
  readonly name: string
}> {
  override get message(): string {
    return `teacher "${this.name}" is already registered; pick another name (registrations never overwrite)`
  }
}

/** No teacher is registered under the requested name. */
export class UnknownTeacher extends Data.TaggedError("UnknownTeacher")<{
  readonly name: string
  readonly known: ReadonlyArray<string>
  readonly suggestions: ReadonlyArray<string>
}> {
  override get message(): string {
    const hint = this.suggestions.length > 0 ? ` Did you mean ${this.suggestions.map((s) => `"${s}"`).join(" or ")}?` : ""
    return `unknown teacher "${this.name}".${hint} Known teachers: ${this.known.join(", ") || "(none)"}`
  }
}

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

/** A tensor op failed inside a training or analysis step (shape, backend or numeric failure). */
export class TeacherStepError extends Data.TaggedError("TeacherStepError")<{
  readonly stage: string
  readonly epoch: number
  readonly step: number
  readonly reason: string
}> {
  override get message(): string {
    return `stage ${this.stage}: step ${this.step} of epoch ${this.epoch + 1} failed: ${this.reason}`
  }
}

/** The training loss became NaN or infinite. */
export class NonFiniteLoss extends Data.TaggedError("NonFiniteLoss")<{
  readonly stage: string
  readonly epoch: number
  readonly step: number
  readonly value: number
}> {
  override get message(): string {
    return `stage ${this.stage}: loss is ${this.value} at step ${this.step} of epoch ${this.epoch + 1}; lower lr or check the inputs`
  }
}

/** A resume checkpoint in the scratch folder that does not belong to this run or is unreadable. */
export class ResumeStateError extends Data.TaggedError("ResumeStateError")<{
  readonly file: string
  readonly field: string
  readonly reason: string
}> {
  override get message(): string {
    return `resume checkpoint ${this.file}: ${this.field} ${this.reason}; delete the file to start over`
  }
}

/** A file that could not be read or written by a teacher stage. */
export class TeacherIoError extends Data.TaggedError("TeacherIoError")<{
  readonly file: string
  readonly operation: "read" | "write" | "list"
  readonly reason: string
}> {
  override get message(): string {
    return `cannot ${this.operation} ${this.file}: ${this.reason}`
  }
}
