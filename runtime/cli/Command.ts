/**
 * The shape of one `ssl-kd` sub-command. `runtime/cli/main.ts` dispatches
 * `ssl-kd <name> ...argv` to the command registered under `name`.
 *
 * A command parses its own arguments (see `runtime/cli/args.ts`), writes its
 * human output to stderr/stdout through `CliIO`, and returns the process exit
 * code. Failures are typed errors (`Data.TaggedError` subclasses whose
 * `message` tells the user what to do); the dispatcher prints `message`, never
 * a stack trace.
 */
import type { Effect } from "effect"

export interface CliIO {
  /** Machine-readable or primary output (JSON with `--json`). */
  readonly out: (text: string) => void
  /** Human output: progress, diagnostics. */
  readonly err: (text: string) => void
  readonly cwd: string
  readonly isTTY: boolean
}

export interface CliCommand {
  readonly name: string
  readonly summary: string
  readonly usage: string
  readonly run: (argv: ReadonlyArray<string>, io: CliIO) => Effect.Effect<number, { readonly _tag: string; readonly message: string }>
}
