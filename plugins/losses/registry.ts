/**
 * The loss registry: losses by key (torchdistill's `register_loss` /
 * `get_loss`). A duplicate key is an error, never a silent overwrite; an
 * unknown key fails at once with the known keys and "did you mean".
 */
import { Effect } from "effect"
import { suggest } from "../../dsl/Names.ts"
import { DuplicateLoss, UnknownLoss } from "./errors.ts"
import type { LossEntry } from "./loss.ts"

export class LossRegistry {
  readonly #entries = new Map<string, LossEntry>()

  /** Adds a loss; fails with {@link DuplicateLoss} on a taken key. */
  register(entry: LossEntry): Effect.Effect<void, DuplicateLoss> {
    return Effect.suspend((): Effect.Effect<void, DuplicateLoss> => {
      if (this.#entries.has(entry.key)) return Effect.fail(new DuplicateLoss({ key: entry.key }))
      this.#entries.set(entry.key, entry)
      return Effect.void
    })
  }

  /** Registered keys, sorted. */
  keys(): ReadonlyArray<string> {
    return [...this.#entries.keys()].sort()
  }

  /** The entry under `key`, or {@link UnknownLoss} naming the known keys and the close ones. */
  lookup(key: string): Effect.Effect<LossEntry, UnknownLoss> {
    return Effect.suspend((): Effect.Effect<LossEntry, UnknownLoss> => {
      const entry = this.#entries.get(key)
      if (entry !== undefined) return Effect.succeed(entry)
      const known = this.keys()
      return Effect.fail(new UnknownLoss({ key, known, suggestions: suggest(key, known) }))
    })
  }
}
