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
import type { CommandHelp } from "./help.ts"

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
  /** What `--help` prints: every option with a sentence and an example. */
  readonly help: CommandHelp
  /** More `--help` lines that depend on the arguments (e.g. the presets of the pipeline file given). */
  readonly helpMore?: (positionals: ReadonlyArray<string>, io: CliIO) => Effect.Effect<ReadonlyArray<string>>
  readonly run: (argv: ReadonlyArray<string>, io: CliIO) => Effect.Effect<number, { readonly _tag: string; readonly message: string }>
}
