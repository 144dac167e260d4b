/**
 * Argument parsing for sub-commands, on `node:util` parseArgs (strict), with
 * typed errors that name the offending flag and show the usage line.
 */
import { parseArgs, type ParseArgsConfig } from "node:util"
import { Data, Effect } from "effect"
import { suggest } from "../../dsl/Names.ts"
import { type CommandHelp, parseOptions } from "./help.ts"

export class UsageError extends Data.TaggedError("UsageError")<{
  readonly command: string
  readonly problem: string
  readonly usage: string
}> {
  override get message() {
    return `${this.problem}\nusage: ${this.usage}\n(\`ssl-kd ${this.command.split(" ")[0]} --help\` describes every option)`
  }
}

type Options = NonNullable<ParseArgsConfig["options"]>

/** Parse `argv` against a command's documented options (see `help.ts`). */
export const parseWith = <const H extends CommandHelp>(command: string, help: H, argv: ReadonlyArray<string>) =>
  parse(command, help.usage, argv, parseOptions(help.options) as { readonly [K in keyof H["options"]]: { type: H["options"][K]["type"]; multiple: H["options"][K] extends { multiple: true } ? true : false } })

export const parse = <const O extends Options>(command: string, usage: string, argv: ReadonlyArray<string>, options: O) =>
  Effect.try({
    try: () => parseArgs({ args: [...argv], options, allowPositionals: true, strict: true }),
    catch: (e) => {
      let problem = String((e as Error).message ?? e).replace(/\. To specify a positional argument.*$/s, "")
      const unknown = /Unknown option '--([^']+)'/.exec(problem)
      if (unknown?.[1] !== undefined) {
        const hint = suggest(unknown[1], Object.keys(options))
        if (hint.length > 0) problem += `. Did you mean --${hint[0]}?`
      }
      return new UsageError({ command, usage, problem })
    },
  })

/** Parse `--set node.field=value` (value as JSON when it parses, else a string). */
export const parseSets = (
  command: string,
  usage: string,
  sets: ReadonlyArray<string>,
): Effect.Effect<Record<string, Record<string, unknown>>, UsageError> =>
  Effect.gen(function* () {
    const out: Record<string, Record<string, unknown>> = {}
    for (const s of sets) {
      const m = /^([^.=]+(?:\[[^\]]+\])?)\.([^=]+)=(.*)$/s.exec(s)
      if (m === null) return yield* new UsageError({ command, usage, problem: `--set ${s}: expected NODE.FIELD=VALUE, e.g. --set distill.lambda1=0.7` })
      const node = m[1]!
      const field = m[2]!
      const raw = m[3]!
      let value: unknown = raw
      try {
        value = JSON.parse(raw)
      } catch {
        // not JSON: keep the string
      }
      out[node] = { ...(out[node] ?? {}), [field]: value }
    }
    return out
  })

/** A positional argument that must be present. */
export const requirePositional = (command: string, usage: string, positionals: ReadonlyArray<string>, index: number, what: string) =>
  positionals[index] === undefined
    ? Effect.fail(new UsageError({ command, usage, problem: `missing ${what}` }))
    : Effect.succeed(positionals[index])
