/**
 * `ssl-kd`: the command-line entry point. Dispatches to sub-commands; prints
 * typed errors as their message (never a stack trace); Ctrl-C interrupts the
 * running command cleanly (exit 130).
 */
import { Cause, Effect, Exit, Fiber } from "effect"
import type { CliCommand, CliIO } from "./Command.ts"
import { suggest } from "../../dsl/Names.ts"
import { formatHelp } from "./help.ts"

/** Flags that take no value (so the word after them is a positional, for `--help`). */
const BOOLEAN_FLAGS = new Set(["--json", "--quiet", "--verbose", "--no-typecheck", "--repair", "--dry-run", "--help"])

/** A sub-command: its name, one line for `ssl-kd help`, and its module, loaded only when dispatched (start-up stays fast). */
export interface CommandEntry {
  readonly name: string
  readonly summary: string
  readonly load: () => Promise<{ readonly command: CliCommand }>
}

/**
 * The runtime's own sub-commands. Commands that need models, datasets or
 * teachers (`data`, `extract`, `teachers`) live in `plugins/cli/` and reach
 * {@link main} from the entry point (`bin/ssl-kd.js`): the runtime imports
 * nothing of `plugins/` or `pipelines/`.
 */
export const builtinCommands: ReadonlyArray<CommandEntry> = [
  { name: "run", summary: "run a pipeline, reusing cached stages", load: () => import("./commands/run.ts") },
  { name: "plan", summary: "show what would run or be served from the cache, without running", load: () => import("./commands/plan.ts") },
  { name: "graph", summary: "print a pipeline's DAG as mermaid, dot or json", load: () => import("./commands/graph.ts") },
  { name: "cache", summary: "list, verify or garbage-collect the artifact store", load: () => import("./commands/cache.ts") },
  { name: "watch", summary: "rerun stale stages on every save", load: () => import("./commands/watch.ts") },
  { name: "runner", summary: "join a cluster and run stages of clustered runs (ssl-kd run --cluster)", load: () => import("./commands/runner.ts") },
  { name: "cluster", summary: "a cluster's runners and its queued and running stages (cluster status)", load: () => import("./commands/cluster.ts") },
  { name: "runs", summary: "list past runs with their headline metrics; `runs diff A B` compares two", load: () => import("./commands/runs.ts") },
]

const help = (io: CliIO, commands: ReadonlyArray<CommandEntry>) => {
  io.out(
    [
      "ssl-kd: typed, cached pipelines for knowledge distillation from self-supervised ViTs",
      "",
      "usage: ssl-kd <command> [options]",
      "",
      ...commands.map((c) => `  ${c.name.padEnd(8)} ${c.summary}`),
      "",
      "`ssl-kd <command> --help` describes a command's options, each with an example.",
      "",
      "examples:",
      "  ssl-kd run pipelines/paper.ts --preset smoke     # the paper end to end, small",
      "  ssl-kd plan pipelines/paper.ts --set ours.lambda1=0.7   # what would rerun, and why",
      "  ssl-kd runs                                      # past runs and their metrics",
      "",
      "Cache: .ssl-kd/ in the working directory (--cache-dir or SSL_KD_CACHE_DIR to move it).",
      "Outputs of the latest run of each pipeline: .ssl-kd/out/<pipeline>[-<preset>]/ (--out DIR to put them elsewhere).",
    ].join("\n"),
  )
}

/** Run one command line; resolves to the exit code. */
export const main = async (argv: ReadonlyArray<string>, io: CliIO, extra: ReadonlyArray<CommandEntry> = []): Promise<number> => {
  const commands = [...builtinCommands, ...extra]
  const [name, ...rest] = argv
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    help(io, commands)
    return name === undefined ? 2 : 0
  }
  const entry = commands.find((c) => c.name === name)
  if (entry === undefined) {
    const hint = suggest(name, commands.map((c) => c.name))
    io.err(`ssl-kd: unknown command "${name}".${hint.length > 0 ? ` Did you mean "${hint[0]}"?` : ""} Run \`ssl-kd help\`.`)
    return 2
  }
  const { command: cmd } = await entry.load()
  if (rest.includes("--help") || rest.includes("-h")) {
    const positionals = rest.filter((a, i) => !a.startsWith("-") && !(i > 0 && /^--[a-z-]+$/.test(rest[i - 1]!) && !BOOLEAN_FLAGS.has(rest[i - 1]!)))
    const more = cmd.helpMore === undefined ? [] : await Effect.runPromise(cmd.helpMore(positionals, io))
    io.out(formatHelp(cmd.help, more))
    return 0
  }
  const fiber = Effect.runFork(cmd.run(rest, io))
  let interrupted = false
  const onSignal = () => {
    if (interrupted) process.exit(130) // second Ctrl-C: leave now
    interrupted = true
    io.err("\nssl-kd: interrupting (running stages are stopped; no partial cache entry is kept)...")
    Effect.runFork(Fiber.interrupt(fiber))
  }
  process.on("SIGINT", onSignal)
  process.on("SIGTERM", onSignal)
  const exit = await Effect.runPromise(Fiber.await(fiber))
  process.off("SIGINT", onSignal)
  process.off("SIGTERM", onSignal)
  if (Exit.isSuccess(exit)) return exit.value
  if (Cause.hasInterruptsOnly(exit.cause)) return 130
  const err = Cause.squash(exit.cause)
  if (err !== null && typeof err === "object" && "_tag" in err && "message" in err && Cause.hasFails(exit.cause)) {
    // One prefix: the command's. Messages never carry their own (older ones did: stripped).
    io.err(`ssl-kd ${name}: ${String((err as { message: unknown }).message).replace(/^ssl-kd(?: [a-z]+)?: /, "")}`)
    return 2
  }
  io.err(`ssl-kd: internal error (please report): ${Cause.pretty(exit.cause)}`)
  return 70
}
