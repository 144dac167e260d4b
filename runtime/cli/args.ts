/**
 * Argument parsing for sub-commands, on `node:util` parseArgs (strict), with
 * typed errors that name the offending flag and show the usage line.
 */
import { parseArgs, type ParseArgsConfig } from "node:util"
import { Data, Effect } from "effect"
import { suggest } from "../../dsl/Names.ts"
import { backendNames, isBackendName } from "../backend/backendNames.ts"
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

/** Keys that would reach an object's prototype machinery: refused in `--set` paths and values. */
const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"])

/** The first forbidden key in a JSON value, or a non-finite number, as a problem; undefined when clean. */
const valueProblem = (v: unknown, where: string): string | undefined => {
  if (typeof v === "number" && !Number.isFinite(v)) return `${where} is out of range for a number (expected a finite number)`
  if (v === null || typeof v !== "object") return undefined
  for (const [k, x] of Object.entries(v)) {
    if (FORBIDDEN_KEYS.has(k)) return `${where} contains the key "${k}", which is not allowed`
    const p = valueProblem(x, where)
    if (p !== undefined) return p
  }
  return undefined
}

/** A JSON value rebuilt with prototype-free objects. */
const bare = (v: unknown): unknown => {
  if (Array.isArray(v)) return v.map(bare)
  if (v === null || typeof v !== "object") return v
  const out: Record<string, unknown> = Object.create(null)
  for (const [k, x] of Object.entries(v)) out[k] = bare(x)
  return out
}

/**
 * Parse `--set node.field=value` (value as JSON when it parses, else a
 * string) into objects without prototypes. `__proto__`, `constructor` and
 * `prototype` are refused as node, field or key inside a value; a number
 * that overflows (`1e400`) is refused rather than becoming Infinity/null.
 */
export const parseSets = (
  command: string,
  usage: string,
  sets: ReadonlyArray<string>,
): Effect.Effect<Record<string, Record<string, unknown>>, UsageError> =>
  Effect.gen(function* () {
    const out: Record<string, Record<string, unknown>> = Object.create(null)
    for (const s of sets) {
      const m = /^([^.=]+(?:\[[^\]]+\])?)\.([^=]+)=(.*)$/s.exec(s)
      if (m === null) return yield* new UsageError({ command, usage, problem: `--set ${s}: expected NODE.FIELD=VALUE, e.g. --set distill.lambda1=0.7` })
      const node = m[1]!
      const field = m[2]!
      const raw = m[3]!
      const forbidden = [node, ...field.split(".")].find((part) => FORBIDDEN_KEYS.has(part.replace(/\[.*$/, "")))
      if (forbidden !== undefined) {
        return yield* new UsageError({ command, usage, problem: `--set ${s}: "${forbidden}" is not allowed as a node or field name` })
      }
      let value: unknown = raw
      try {
        value = JSON.parse(raw)
      } catch {
        // not JSON: keep the string
      }
      const problem = valueProblem(value, `--set ${s}: value ${raw}`)
      if (problem !== undefined) return yield* new UsageError({ command, usage, problem })
      const fields: Record<string, unknown> = out[node] ?? Object.create(null)
      fields[field] = bare(value)
      out[node] = fields
    }
    return out
  })

/** `--workers N`: a whole number >= 1 (absent: undefined, the default applies). */
export const parseWorkers = (command: string, usage: string, flag: string | undefined): Effect.Effect<number | undefined, UsageError> => {
  if (flag === undefined) return Effect.succeed(undefined)
  const n = /^\s*\d+\s*$/.test(flag) ? Number(flag) : Number.NaN
  return Number.isSafeInteger(n) && n >= 1
    ? Effect.succeed(n)
    : Effect.fail(new UsageError({ command, usage, problem: `--workers ${flag}: expected a whole number of workers >= 1` }))
}

/** `--backend NAME`: one of the known tensor backends, checked before anything runs (also on fully cached runs). */
export const parseBackend = (command: string, usage: string, flag: string | undefined): Effect.Effect<string | undefined, UsageError> => {
  if (flag === undefined) return Effect.succeed(undefined)
  const name = flag.trim().toLowerCase()
  if (isBackendName(name)) return Effect.succeed(name)
  const hint = suggest(name, [...backendNames])
  return Effect.fail(
    new UsageError({
      command,
      usage,
      problem: `--backend ${flag}: unknown tensor backend; expected one of ${backendNames.join(", ")}${hint.length > 0 ? `. Did you mean ${hint[0]}?` : ""}`,
    }),
  )
}

/** A positional argument that must be present. */
export const requirePositional = (command: string, usage: string, positionals: ReadonlyArray<string>, index: number, what: string) =>
  positionals[index] === undefined
    ? Effect.fail(new UsageError({ command, usage, problem: `missing ${what}` }))
    : Effect.succeed(positionals[index])

/** Check the shared `--workers` and `--backend` flags of a command before anything runs. */
export const checkCommonFlags = (command: string, usage: string, values: { readonly workers?: string | undefined; readonly backend?: string | undefined }) =>
  Effect.andThen(parseWorkers(command, usage, values.workers), parseBackend(command, usage, values.backend)).pipe(Effect.asVoid)
