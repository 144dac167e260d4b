/**
 * `ssl-kd cluster status --cluster postgres://... [--json]`
 *
 * What a cluster is doing, read from its PostgreSQL tables
 * (runtime/cluster/status.ts): its runners (slots, checkout, what each is
 * running, lost ones marked), the stages queued and running, completed and
 * failed job counts, and unprocessed engine messages.
 */
import { Effect } from "effect"
import { parseWith, requirePositional, UsageError } from "../args.ts"
import type { CliCommand } from "../Command.ts"
import type { CommandHelp } from "../help.ts"
import { short, table } from "../session.ts"

const usage = "ssl-kd cluster status --cluster postgres://USER@HOST:PORT/DB [--json]"

export const help = {
  usage,
  summary: "What a cluster is doing: its runners and their slots, the stages queued and running (read from its PostgreSQL tables).",
  args: { status: "The only sub-command: list runners, their slots and running stages, and the queued and running stages." },
  options: {
    cluster: { type: "string", value: "URL", text: "The cluster's PostgreSQL database (as given to ssl-kd runner and ssl-kd run --cluster).", example: "ssl-kd cluster status --cluster postgres://ssl@db:5432/sslkd" },
    json: { type: "boolean", text: "Print one JSON object on stdout.", example: "ssl-kd cluster status --cluster postgres://... --json" },
  },
} as const satisfies CommandHelp

const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`

export const command: CliCommand = {
  name: "cluster",
  summary: "show a cluster's runners and its queued and running stages",
  usage,
  help,
  run: (argv, io) =>
    Effect.gen(function* () {
      const { values, positionals } = yield* parseWith("cluster", help, argv)
      const sub = yield* requirePositional("cluster", usage, positionals, 0, "a sub-command (status)")
      if (sub !== "status") return yield* new UsageError({ command: "cluster", usage, problem: `unknown sub-command "${sub}": expected status` })
      if (positionals.length > 1) return yield* new UsageError({ command: "cluster", usage, problem: `unexpected argument "${positionals[1]}" after status` })
      const url = values.cluster
      if (url === undefined || !/^postgres(ql)?:\/\//.test(url)) {
        return yield* new UsageError({ command: "cluster", usage, problem: `--cluster ${url ?? "(missing)"}: expected a postgres:// URL` })
      }
      const { clusterStatus } = yield* Effect.promise(() => import("../../cluster/status.ts"))
      const s = yield* clusterStatus(url)
      if (values.json === true) {
        io.out(JSON.stringify(s))
        return 0
      }
      const lines: Array<string> = [`cluster ${s.cluster}`, ""]
      const live = s.runners.filter((r) => !r.lost)
      lines.push(`runners: ${live.length}${s.runners.length > live.length ? ` (+${s.runners.length - live.length} lost)` : ""}`)
      if (s.runners.length > 0) {
        lines.push(
          table([
            ["runner", "slots", "running", "seen", "checkout", "store"],
            ...s.runners.map((r) => [
              r.name,
              Object.entries(r.slots).map(([k, v]) => `${k}=${v}`).join(","),
              r.running.length === 0 ? "-" : r.running.map((x) => x.node).join(", "),
              r.lost ? `LOST (${seconds(r.lastSeenMs)} ago)` : `${seconds(r.lastSeenMs)} ago`,
              r.project,
              r.store,
            ]),
          ]),
        )
      }
      lines.push("", `running: ${s.running.length}`)
      if (s.running.length > 0) {
        lines.push(table([["stage", "key", "class", "attempt", "runner"], ...s.running.map((j) => [j.node, short(j.key), j.resource, String(j.attempts), j.runner ?? "(none alive: lease not lapsed yet)"])]))
      }
      lines.push("", `queued: ${s.queued.length}`)
      if (s.queued.length > 0) {
        lines.push(table([["stage", "key", "class", "attempts", "waiting"], ...s.queued.map((j) => [j.node, short(j.key), j.resource, String(j.attempts), seconds(j.ageMs)])]))
      }
      lines.push("", `jobs completed: ${s.completed}, failed: ${s.failed}, taken more than once: ${s.retaken}; engine messages not processed: ${s.unprocessedMessages}`)
      io.out(lines.join("\n"))
      return 0
    }),
}
