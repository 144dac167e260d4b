/** Typed errors of the artifact store. */
import { Data } from "effect"

/** A file-system operation on the store failed. */
export class StoreIOError extends Data.TaggedError("StoreIOError")<{
  readonly operation: string
  readonly path: string
  readonly reason: string
}> {
  override get message() {
    return `cache store: cannot ${this.operation} ${this.path}: ${this.reason}`
  }
}

/** An entry failed verification; it is quarantined and recomputed, never used. */
export class CorruptEntryError extends Data.TaggedError("CorruptEntryError")<{
  readonly key: string
  readonly path: string
  readonly reason: string
}> {
  override get message() {
    return `cache entry ${this.key.slice(0, 12)} is corrupt (${this.reason}) at ${this.path}`
  }
}

export const ioError = (operation: string, path: string) => (e: unknown) =>
  new StoreIOError({ operation, path, reason: e instanceof Error ? e.message : String(e) })

/** A cache folder that is neither empty nor a store: never written to, never cleaned. */
export class NotAStoreError extends Data.TaggedError("NotAStoreError")<{
  readonly root: string
  readonly found: ReadonlyArray<string>
}> {
  override get message() {
    return `cache store: ${this.root} is not an ssl-kd store (no .ssl-kd-store marker; it holds ${this.found.map((n) => JSON.stringify(n)).join(", ")}); pass --cache-dir with an empty folder or an existing store`
  }
}
