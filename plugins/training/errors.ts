/**
 * Failure modes of training and evaluation stages, shared by teacher and
 * student stages: a setting that does not fit the data or the model, a
 * failed step, a non-finite loss, an unusable resume checkpoint.
 */
import { Data } from "effect"

/** A tensor op failed inside a training or analysis step (shape, backend or numeric failure). */
export class TrainingStepError extends Data.TaggedError("TrainingStepError")<{
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

/** A stage setting that does not fit the data or the model (a crop size that is no multiple of the patch, ...). */
export class StageConfigError extends Data.TaggedError("StageConfigError")<{
  readonly stage: string
  readonly field: string
  readonly value: string
  readonly expected: string
}> {
  override get message(): string {
    return `stage ${this.stage}: ${this.field} is ${this.value}; expected ${this.expected}`
  }
}
