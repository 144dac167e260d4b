/**
 * Failure modes of tensor backend selection. One class per failure mode, the
 * data in fields, a message that says what to do.
 */
import { Data } from "effect"

/** A backend was forced (`--backend` or `SSL_KD_BACKEND`) but cannot be loaded here. */
export class BackendNotAvailable extends Data.TaggedError("BackendNotAvailable")<{
  readonly requested: string
  readonly source: string
  readonly reason: string
  readonly available: ReadonlyArray<string>
}> {
  override get message(): string {
    const avail = this.available.length === 0 ? "none" : this.available.join(", ")
    return `tensor backend "${this.requested}" (forced by ${this.source}) is not available: ${this.reason}. ` +
      `Available here: ${avail}. Install it, or pick one of those with --backend or SSL_KD_BACKEND.`
  }
}

/** The forced backend name is not one ssl-kd knows. */
export class UnknownBackendName extends Data.TaggedError("UnknownBackendName")<{
  readonly requested: string
  readonly source: string
  readonly known: ReadonlyArray<string>
}> {
  override get message(): string {
    return `unknown tensor backend "${this.requested}" (from ${this.source}); expected one of: ${this.known.join(", ")}`
  }
}

/** No backend at all could be initialised (not even the pure-JS cpu one). */
export class NoBackendAvailable extends Data.TaggedError("NoBackendAvailable")<{
  readonly attempts: ReadonlyArray<{ readonly name: string; readonly reason: string }>
}> {
  override get message(): string {
    const lines = this.attempts.map((a) => `  ${a.name}: ${a.reason}`).join("\n")
    return `no tensor backend could be initialised; tried:\n${lines}\nReinstall @tensorflow/tfjs-backend-cpu or @tensorflow/tfjs-backend-wasm.`
  }
}
