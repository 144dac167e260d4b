/**
 * `ssl-kd`: the command-line entry point. Dispatches to sub-commands; prints
 * typed errors as their message (never a stack trace); Ctrl-C interrupts the
 * running command cleanly (exit 130).
 */
import { Cause, Effect, Exit, Fiber } from "effect"
import type { CliCommand, CliIO } from "./Command.ts"
import { suggest } from "../../dsl/internal/didYouMean.ts"
import { command as cache } from "./commands/cache.ts"
import { command as data } from "./commands/data.ts"
import { command as graph } from "./commands/graph.ts"
import { command as plan } from "./commands/plan.ts"
import { command as run } from "./commands/run.ts"
import { command as watch } from "./commands/watch.ts"

export const commands: ReadonlyArray<CliCommand> = [run, plan, graph, cache, watch, data]

const help = (io: CliIO) => {
  io.out(
    [
      "ssl-kd: typed, cached pipelines for knowledge distillation from self-supervised ViTs",
      "",
      "usage: ssl-kd <command> [options]",
      "",
      ...commands.map((c) => `  ${c.name.padEnd(8)} ${c.summary}\n           ${c.usage}`),
      "",
      "Cache: .ssl-kd/ in the working directory (--cache-dir or SSL_KD_CACHE_DIR to move it).",
    ].join("\n"),
  )
}

/** Run one command line; resolves to the exit code. */
export const main = async (argv: ReadonlyArray<string>, io: CliIO): Promise<number> => {
  const [name, ...rest] = argv
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    help(io)
    return name === undefined ? 2 : 0
  }
  const cmd = commands.find((c) => c.name === name)
  if (cmd === undefined) {
    const hint = suggest(name, commands.map((c) => c.name))
    io.err(`ssl-kd: unknown command "${name}".${hint.length > 0 ? ` Did you mean "${hint[0]}"?` : ""} Run \`ssl-kd help\`.`)
    return 2
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
    io.err(`ssl-kd: ${String((err as { message: unknown }).message)}`)
    return 2
  }
  io.err(`ssl-kd: internal error (please report): ${Cause.pretty(exit.cause)}`)
  return 70
}
