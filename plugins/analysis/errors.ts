/**
 * Failure modes of the analyses (attention distance, k-NN, plots): one tagged
 * error per mode, the data in fields, a message naming the value and what was
 * expected.
 */
import { Data } from "effect"

const fmt = (shape: ReadonlyArray<number>): string => `[${shape.join(", ")}]`

/** An attention map that is not [B, H, T, T] with T = prefix tokens + g·g. */
export class InvalidAttentionShape extends Data.TaggedError("InvalidAttentionShape")<{
  readonly op: string
  /** Which map, e.g. `layer 3`. */
  readonly field: string
  readonly shape: ReadonlyArray<number>
  readonly expected: string
}> {
  override get message(): string {
    return `${this.op}: ${this.field} has shape ${fmt(this.shape)}; expected ${this.expected}`
  }
}

/** k-NN inputs that do not fit together (feature widths, label counts, label range). */
export class KnnInputMismatch extends Data.TaggedError("KnnInputMismatch")<{
  readonly field: string
  readonly got: string
  readonly expected: string
}> {
  override get message(): string {
    return `knnClassify: ${this.field} is ${this.got}; expected ${this.expected}`
  }
}

/** An option outside its domain (k < 1, temperature <= 0, patch size < 1, ...). */
export class InvalidAnalysisOption extends Data.TaggedError("InvalidAnalysisOption")<{
  readonly op: string
  readonly field: string
  readonly value: number | string
  readonly expected: string
}> {
  override get message(): string {
    return `${this.op}: ${this.field} = ${String(this.value)} is invalid; expected ${this.expected}`
  }
}

/** Shape as text, for messages. */
export const shapeText = fmt
