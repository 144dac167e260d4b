/** Failure modes of the model plugins: one tagged error per mode. */
import { Data } from "effect"

/** A second model was registered under a name already taken. */
export class DuplicateModel extends Data.TaggedError("DuplicateModel")<{
  readonly name: string
}> {
  override get message(): string {
    return `model "${this.name}" is already registered; pick another name (registrations never overwrite)`
  }
}

/** No model is registered under the requested name. */
export class UnknownModel extends Data.TaggedError("UnknownModel")<{
  readonly name: string
  readonly known: ReadonlyArray<string>
  readonly suggestions: ReadonlyArray<string>
}> {
  override get message(): string {
    const hint = this.suggestions.length > 0 ? ` Did you mean ${this.suggestions.map((s) => `"${s}"`).join(" or ")}?` : ""
    return `unknown model "${this.name}".${hint} Known models: ${this.known.join(", ")}`
  }
}

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
