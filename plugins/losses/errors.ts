/**
 * Failure modes of the distillation losses: one tagged error per mode, the
 * data in fields, a message naming the value and what was expected. The
 * registry and the composition fail with them in Effects; the tensor
 * functions throw them (they are `Error`s), and stage code turns them into
 * typed failures with `Effect.try`.
 */
import { Data } from "effect"

const fmt = (shape: ReadonlyArray<number>): string => `[${shape.join(", ")}]`

/** A loss term's `params` (or its weight or name) do not decode. */
export class InvalidLossConfig extends Data.TaggedError("InvalidLossConfig")<{
  /** The term, e.g. `kd-output` or `ce/teacher`. */
  readonly term: string
  readonly field: string
  readonly value: string
  readonly expected: string
}> {
  override get message(): string {
    return `loss term "${this.term}": ${this.field} = ${this.value} is invalid; expected ${this.expected}`
  }
}

/** A tensor a loss needs is absent from the batch's model outputs. */
export class MissingLossInput extends Data.TaggedError("MissingLossInput")<{
  readonly loss: string
  /** Where it was looked up, e.g. `outputs.mim.attention`. */
  readonly field: string
  readonly available: ReadonlyArray<string>
}> {
  override get message(): string {
    return `loss "${this.loss}" needs ${this.field}, which the batch does not provide; present: ${this.available.length > 0 ? this.available.join(", ") : "(nothing)"}`
  }
}

/** A tensor whose shape does not fit the loss (names the shape got and the one expected). */
export class LossShapeMismatch extends Data.TaggedError("LossShapeMismatch")<{
  readonly loss: string
  readonly field: string
  readonly shape: ReadonlyArray<number>
  /** The expected shape in words, with the other operand's shape where it matters. */
  readonly expected: string
}> {
  override get message(): string {
    return `${this.loss}: ${this.field} has shape ${fmt(this.shape)}; expected ${this.expected}`
  }
}

/**
 * Teacher and student attention maps over different token counts (eq. 3
 * needs the same patch size and resolution: 197 x 197 at 224 px, patch 16).
 */
export class AttentionTokenMismatch extends Data.TaggedError("AttentionTokenMismatch")<{
  readonly loss: string
  readonly teacher: string
  readonly teacherShape: ReadonlyArray<number>
  readonly studentShape: ReadonlyArray<number>
}> {
  override get message(): string {
    const t = this.teacherShape[2] ?? "?"
    const s = this.studentShape[2] ?? "?"
    return `${this.loss}: ${this.teacher} attention ${fmt(this.teacherShape)} has ${t} tokens but the student's ${fmt(this.studentShape)} has ${s}; ` +
      "teacher and student need the same patch size and input resolution (same token count T in [B, H, T, T])"
  }
}

/** A class label outside 0..K-1 (a one-hot of it would silently be all zeros). */
export class LabelOutOfRange extends Data.TaggedError("LabelOutOfRange")<{
  readonly loss: string
  readonly index: number
  readonly label: number
  readonly numClasses: number
}> {
  override get message(): string {
    return `${this.loss}: label ${this.label} at batch index ${this.index} is outside 0..${this.numClasses - 1} (the logits have ${this.numClasses} classes)`
  }
}

/** Shape as text, for `expected` strings. */
export const shapeText = fmt
