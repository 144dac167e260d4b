/** Failure modes of the model plugins: one tagged error per mode. */
import { Data } from "effect"

/** A model configuration value that cannot build a ViT. */
export class InvalidModelConfig extends Data.TaggedError("InvalidModelConfig")<{
  readonly arch: string
  readonly field: string
  readonly value: number | string
  readonly expected: string
}> {
  override get message(): string {
    return `model "${this.arch}": ${this.field} = ${this.value} is invalid; expected ${this.expected}`
  }
}

/** Images whose shape the model cannot take. */
export class InvalidInputShape extends Data.TaggedError("InvalidInputShape")<{
  readonly arch: string
  readonly shape: ReadonlyArray<number>
  readonly expected: string
}> {
  override get message(): string {
    return `model "${this.arch}" got images of shape [${this.shape.join(", ")}]; expected ${this.expected}`
  }
}
