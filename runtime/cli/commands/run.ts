/**
 * `ssl-kd run <pipeline.ts> [--preset P] [--force STAGE]... [--set NODE.FIELD=V]... [--json]`
 *
 * Runs the stages whose cache entries are missing and serves the rest from
 * the cache. With `--json`, prints one object `{ pipeline, preset, runId, ok,
 * stages: [{ name, key, status }] }` (status: ran | cached | failed) on
 * stdout; progress goes to stderr. Exit code 1 when a stage failed.
 *
 * With more than one worker (`--workers N`, default the CPU cores), fan-out
 * items run in a pool of worker threads, each with its own tensor backend
 * selected by the same `--backend` / `SSL_KD_BACKEND` (see `poolOptions`).
 */
import { Effect } from "effect"
import { formatDuration } from "../../progress/Progress.ts"
import { Executor } from "../../executor/Executor.ts"
import { checkCommonFlags, parse, parseSets, requirePositional } from "../args.ts"
import type { CliCommand } from "../Command.ts"
import { loadPipeline } from "../loadPipeline.ts"
import { RuntimeInfo } from "../../executor/RuntimeInfo.ts"
import { cacheDirOf, commonOptions, executorLayer, poolOptions, runStages, short, stageSummaries, table, tensorServices } from "../session.ts"

const usage =
  "ssl-kd run <pipeline.ts> [--preset P] [--force STAGE]... [--set NODE.FIELD=VALUE]... [--json] [--cache-dir D] [--workers N] [--backend node-gpu|node|wasm|cpu]"

export const command: CliCommand = {
  name: "run",
  summary: "run a pipeline, reusing cached stages",
  usage,
  run: (argv, io) =>
    Effect.gen(function* () {
      const { values, positionals } = yield* parse("run", usage, argv, { ...commonOptions, force: { type: "string", multiple: true } })
      yield* checkCommonFlags("run", usage, values)
      const file = yield* requirePositional("run", usage, positionals, 0, "the pipeline file")
      const set = yield* parseSets("run", usage, values.set ?? [])
      const pipeline = yield* loadPipeline(file, io.cwd, values.preset)
      const tensors = tensorServices(io, values.backend)
      const pool = poolOptions(values)
      const report = yield* Executor.use((e) =>
        e.run(pipeline, {
          preset: values.preset,
          force: values.force ?? [],
          set,
          argv: ["run", ...argv],
          stageServices: tensors.layer,
          // the summaries printed below read these entries: check them (recompute if corrupt) during the run
          verifyNodes: pipeline.nodes.filter((n) => n.stage.summary !== undefined).map((n) => n.name),
          ...(pool === undefined ? {} : { pool }),
          onPlan: (plan) =>
            Effect.sync(() => {
              const toRun = plan.nodes.filter((n) => n.status === "will-run").length
              io.err(`ssl-kd: pipeline ${pipeline.name}${values.preset ? ` (preset ${values.preset})` : ""}: ${toRun} to run, ${plan.nodes.length - toRun} cached`)
            }),
        }),
      ).pipe(Effect.provide(executorLayer(io, values)), Effect.provideService(RuntimeInfo, tensors.runtimeInfo))
      if (values.json === true) {
        io.out(JSON.stringify({ pipeline: report.pipeline, preset: report.preset, runId: report.runId, ok: report.ok, durationMs: report.durationMs, stages: runStages(report.stages) }))
      } else {
        const rows = [["stage", "status", "time", "key", "note"]].concat(
          report.stages.map((s) => [s.name, s.status, s.status === "ran" ? formatDuration(s.durationMs) : "", short(s.key), s.error?.message ?? (s.status === "ran" ? s.reason ?? "" : "")]),
        )
        io.err(table(rows))
        io.err(`${report.ok ? "ok" : "FAILED"} in ${formatDuration(report.durationMs)} (run ${report.runId})`)
        for (const s of yield* stageSummaries(cacheDirOf(io, values["cache-dir"]), pipeline, report.stages)) {
          io.out(`\n${s.node} (${s.stage}): ${s.payloadDir}${s.text === "" ? "" : `\n${s.text}`}`)
        }
      }
      return report.ok ? 0 : 1
    }),
}
