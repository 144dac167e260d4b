/**
 * The loss registry: losses by key (torchdistill's `register_loss` /
 * `get_loss`), a {@link Registry} of {@link LossEntry}. A duplicate key is an
 * error, never a silent overwrite; an unknown key fails at once with the
 * known keys and "did you mean".
 */
import { Registry } from "../../dsl/Registry.ts"
import type { LossEntry } from "./loss.ts"

export type LossRegistry = Registry<LossEntry>

/** An empty loss registry (the built-in one is `losses`, in builtins.ts). */
export const makeLossRegistry = (): LossRegistry => new Registry<LossEntry>("loss")
