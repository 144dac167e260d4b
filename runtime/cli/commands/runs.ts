/**
 * `ssl-kd runs [--pipeline NAME] [--limit N] [--json]` and
 * `ssl-kd runs diff A B [--json]`: experiment tracking over the run records
 * (`.ssl-kd/runs/*.json`), as `dvc exp show` / `dvc exp diff` do.
 *
 * A run is named by its id, a unique prefix of it, or `@N` (the N-th newest
 * run; `@1` is the latest). `runs` lists runs newest first with their status,
 * counts and headline metrics (each node's summary values or last epoch's
 * loss, see `executor/metrics.ts`); `diff` lists the config fields and the
 * metrics that differ between two runs, and the stages whose keys differ.
 */
import * as path from "node:path"
import { Data, Effect } from "effect"
import { readRunRecords, type RunReport } from "../../cache/runRecord.ts"
import { configChanges } from "../../executor/why.ts"
import { formatDuration } from "../../progress/Progress.ts"
import { parseWith, UsageError } from "../args.ts"
import type { CliCommand } from "../Command.ts"
import type { CommandHelp } from "../help.ts"
import { cacheDirOf, pipelineOptions, table } from "../session.ts"

const usage = "ssl-kd runs [--pipeline NAME] [--limit N] [--json] | ssl-kd runs diff A B [--json]"

export const help = {
  usage,
  summary: "Past runs (newest first) with their headline metrics; `runs diff A B` compares two runs' configs and metrics.",
  args: { "diff A B": "Compare runs A and B: each is a run id, a unique prefix of one, or @N (the N-th newest run; @1 is the latest)." },
  options: {
    pipeline: { type: "string", value: "NAME", text: "Only runs of this pipeline (its name, e.g. paper).", example: "ssl-kd runs --pipeline paper" },
    limit: { type: "string", value: "N", text: "Show at most N runs (default 20).", example: "ssl-kd runs --limit 5" },
    json: { type: "boolean", text: "Print JSON on stdout.", example: "ssl-kd runs diff @2 @1 --json" },
    "cache-dir": pipelineOptions["cache-dir"],
  },
  examples: ["ssl-kd runs", "ssl-kd runs diff @2 @1    # what changed between the last two runs"],
} as const satisfies CommandHelp

/** A run name that matches no run record, or several. */
export class UnknownRun extends Data.TaggedError("UnknownRun")<{ readonly name: string; readonly matches: ReadonlyArray<string>; readonly total: number }> {
  override get message() {
    return this.matches.length > 1
      ? `run "${this.name}" is ambiguous: it matches ${this.matches.slice(0, 5).join(", ")}${this.matches.length > 5 ? ", ..." : ""}`
      : `no run "${this.name}" among ${this.total} run records (\`ssl-kd runs\` lists them; @1 is the latest)`
  }
}

const fmt = (v: number): string => (Math.abs(v) >= 100 || Number.isInteger(v) ? v.toFixed(Math.abs(v) >= 100 ? 1 : 0) : v.toPrecision(4))

/** `node.metric=value` pairs of a run, summary values first. */
export const headlinePairs = (r: RunReport): ReadonlyArray<{ readonly name: string; readonly value: number }> =>
  Object.entries(r.metrics ?? {}).flatMap(([node, m]) => Object.entries(m).map(([k, v]) => ({ name: `${node}.${k}`, value: v })))

const pick = (records: ReadonlyArray<RunReport>, name: string): Effect.Effect<RunReport, UnknownRun> => {
  const at = /^@(\d+)$/.exec(name)
  if (at !== null) {
    const r = records[Number(at[1]) - 1]
    return r === undefined ? Effect.fail(new UnknownRun({ name, matches: [], total: records.length })) : Effect.succeed(r)
  }
  const matches = records.filter((r) => r.runId === name || r.runId.startsWith(name))
  const exact = matches.find((r) => r.runId === name)
  if (exact !== undefined) return Effect.succeed(exact)
  return matches.length === 1 ? Effect.succeed(matches[0]!) : Effect.fail(new UnknownRun({ name, matches: matches.map((m) => m.runId), total: records.length }))
}

export const diffRuns = (a: RunReport, b: RunReport) => {
  const nodes = [...new Set([...Object.keys(a.configs ?? {}), ...Object.keys(b.configs ?? {})])]
  const config = nodes.flatMap((n) => configChanges((a.configs ?? {})[n], (b.configs ?? {})[n]).map((c) => `${n}.${c}`))
  const am = new Map(headlinePairs(a).map((p) => [p.name, p.value]))
  const bm = new Map(headlinePairs(b).map((p) => [p.name, p.value]))
  const metrics = [...new Set([...am.keys(), ...bm.keys()])]
    .map((name) => ({ name, a: am.get(name) ?? null, b: bm.get(name) ?? null }))
    .filter((m) => m.a !== m.b)
  const ak = new Map(a.stages.map((s) => [s.name, s.key]))
  const stages = b.stages.filter((s) => ak.get(s.name) !== s.key).map((s) => s.name)
  return { a: a.runId, b: b.runId, config, metrics, stagesWithNewKeys: stages }
}

export const command: CliCommand = {
  name: "runs",
  summary: "list past runs with their headline metrics; `runs diff A B` compares two",
  usage,
  help,
  run: (argv, io) =>
    Effect.gen(function* () {
      const { values, positionals } = yield* parseWith("runs", help, argv)
      const all = yield* readRunRecords(cacheDirOf(io, values["cache-dir"]))
      const records = values.pipeline === undefined ? all : all.filter((r) => r.pipeline === values.pipeline)
      if (positionals[0] === "diff") {
        if (positionals.length !== 3) return yield* new UsageError({ command: "runs", usage, problem: "runs diff needs two runs, e.g. `ssl-kd runs diff @2 @1`" })
        const a = yield* pick(records, positionals[1]!)
        const b = yield* pick(records, positionals[2]!)
        const d = diffRuns(a, b)
        if (values.json === true) {
          io.out(JSON.stringify(d, null, 2))
          return 0
        }
        io.out(`A ${a.runId} (${a.pipeline}${a.preset ? ` ${a.preset}` : ""})\nB ${b.runId} (${b.pipeline}${b.preset ? ` ${b.preset}` : ""})`)
        io.out(d.config.length === 0 ? "\nconfig: the same" : `\nconfig (A -> B):\n${d.config.map((c) => `  ${c}`).join("\n")}`)
        io.out(
          d.metrics.length === 0
            ? "\nmetrics: the same"
            : `\nmetrics:\n${table([
                ["  metric", "A", "B", "B - A"],
                ...d.metrics.map((m) => [`  ${m.name}`, m.a === null ? "-" : fmt(m.a), m.b === null ? "-" : fmt(m.b), m.a === null || m.b === null ? "" : `${m.b - m.a >= 0 ? "+" : ""}${fmt(m.b - m.a)}`]),
              ])}`,
        )
        io.out(`\nstages with a different cache key: ${d.stagesWithNewKeys.length === 0 ? "none" : d.stagesWithNewKeys.join(", ")}`)
        return 0
      }
      if (positionals.length > 0) return yield* new UsageError({ command: "runs", usage, problem: `unknown argument "${positionals[0]}": expected nothing or diff A B` })
      const limit = values.limit === undefined ? 20 : Number(values.limit)
      if (!Number.isInteger(limit) || limit < 1) return yield* new UsageError({ command: "runs", usage, problem: `--limit ${values.limit}: expected a whole number >= 1` })
      const shown = records.slice(0, limit)
      if (values.json === true) {
        io.out(JSON.stringify(shown.map((r) => ({ runId: r.runId, pipeline: r.pipeline, preset: r.preset, startedAt: r.startedAt, ok: r.ok, interrupted: r.interrupted, durationMs: r.durationMs, metrics: r.metrics ?? {} })), null, 2))
        return 0
      }
      if (shown.length === 0) {
        io.out(`no runs recorded in ${path.join(cacheDirOf(io, values["cache-dir"]), "runs")}`)
        return 0
      }
      io.out(
        table([
          ["#", "run", "pipeline", "status", "time", "ran/cached/failed", "headline metrics"],
          ...shown.map((r, i) => {
            const count = (s: string) => r.stages.filter((x) => x.status === s).length
            // Accuracies first (a run's result), losses after (how it trained).
            const pairs = [...headlinePairs(r)].sort((a, b) => Number(/\.(top1|accuracy)$/i.test(b.name)) - Number(/\.(top1|accuracy)$/i.test(a.name)))
            return [
              `@${i + 1}`,
              r.runId.slice(0, 19).replace("T", " "),
              `${r.pipeline}${r.preset ? ` ${r.preset}` : ""}`,
              r.interrupted ? "interrupted" : r.ok ? "ok" : "FAILED",
              formatDuration(r.durationMs),
              `${count("ran")}/${count("cached")}/${count("failed")}`,
              `${pairs.slice(0, 4).map((p) => `${p.name}=${fmt(p.value)}`).join(" ")}${pairs.length > 4 ? ` (+${pairs.length - 4})` : ""}`,
            ]
          }),
        ]),
      )
      io.out(`\n\`ssl-kd runs diff @2 @1\` compares two runs; each run's metrics.csv is in its output folder (.ssl-kd/out/).`)
      return 0
    }),
}
