/**
 * `ssl-kd run <pipeline.ts> [--preset P] [--force STAGE]... [--set NODE.FIELD=V]... [--out DIR] [--json] [-v]`
 *
 * Runs the stages whose cache entries are missing and serves the rest from
 * the cache. Each stage that runs says why (the changed config field, code,
 * upstream entry or data file; see `executor/why.ts`). The run then replaces
 * the pipeline's output folder (`.ssl-kd/out/<pipeline>[-<preset>]/` or
 * `--out DIR`: terminal nodes' files, metrics.csv, run.json; see
 * `outputs.ts`) and ends by printing where it is.
 *
 * With `--json`, prints one object `{ pipeline, preset, runId, ok, out,
 * stages: [{ name, key, status }] }` (status: ran | cached | failed) on
 * stdout; progress goes to stderr. Exit code 1 when a stage failed.
 *
 * With more than one worker (`--workers N`, default the CPU cores), fan-out
 * items run in a pool of worker threads, each with its own tensor backend
 * selected by the same `--backend` / `SSL_KD_BACKEND` (see `poolOptions`).
 */
import * as path from "node:path"
import { Effect } from "effect"
import { formatDuration } from "../../progress/Progress.ts"
import { Executor } from "../../executor/Executor.ts"
import { checkCommonFlags, parseWith, parseSets, requirePositional, UsageError } from "../args.ts"
import type { CliCommand, CliIO } from "../Command.ts"
import type { CommandHelp } from "../help.ts"
import { loadPipeline } from "../loadPipeline.ts"
import { defaultOutDir, publishOutputs } from "../outputs.ts"
import { RuntimeInfo } from "../../executor/RuntimeInfo.ts"
import { applyDataDir, cacheDirOf, executorLayer, remoteStoreOf, pipelineOptions, poolOptions, presetHelp, runStages, short, stageSummaries, table, tensorServices } from "../session.ts"

const usage = "ssl-kd run <pipeline.ts> [--preset P] [--set NODE.FIELD=VALUE]... [--force STAGE]... [--out DIR] [--json] [-v] [--backend B] [--workers N] [--data-dir DIR] [--cache-dir DIR] [--remote-store URL]"

export const help = {
  usage,
  summary: "Run a pipeline: stale stages run (each says why), the others are served from the cache; the latest outputs land in one folder.",
  args: { "<pipeline.ts>": "A TypeScript file whose default export is a pipeline (or a pipeline family), e.g. pipelines/paper.ts." },
  options: {
    ...pipelineOptions,
    cluster: {
      type: "string",
      value: "URL",
      text: "Run the stages on the cluster whose PostgreSQL database is URL (runners started with `ssl-kd runner --cluster URL`), with --cache-dir the store they share. Each stage execution is durable and keyed by its cache key: a rerun or a second run joins it.",
      example: "ssl-kd run pipelines/paper.ts --cluster postgres://ssl@db:5432/sslkd --cache-dir /shared/ssl-kd",
    },
    out: {
      type: "string",
      value: "DIR",
      text: "Put this run's outputs (the terminal stages' files, e.g. the report and the exported student; metrics.csv; run.json) in DIR instead of .ssl-kd/out/<pipeline>[-<preset>]/. DIR is replaced by each run.",
      example: "ssl-kd run pipelines/paper.ts --preset smoke --out results/smoke",
    },
  },
  examples: [
    "ssl-kd run pipelines/paper.ts                         # the demo scale (default preset)",
    "ssl-kd run pipelines/paper.ts --preset smoke          # about half a minute, synthetic data",
    "ssl-kd run pipelines/paper.ts --set ours.lambda1=0.7  # reruns ours and what depends on it",
    "ssl-kd run pipelines/paper.ts --json | jq .stages     # machine-readable result",
  ],
  notes: ["Exit codes: 0 ok, 1 a stage failed, 2 bad input (usage, pipeline file, config), 130 interrupted."],
} as const satisfies CommandHelp

const relative = (io: CliIO, p: string) => {
  const r = path.relative(io.cwd, p)
  return r.startsWith("..") ? p : r
}

export const command: CliCommand = {
  name: "run",
  summary: "run a pipeline, reusing cached stages",
  usage,
  help,
  helpMore: presetHelp,
  run: (argv, io) =>
    Effect.gen(function* () {
      const { values, positionals } = yield* parseWith("run", help, argv)
      yield* checkCommonFlags("run", usage, values)
      const file = yield* requirePositional("run", usage, positionals, 0, "the pipeline file (e.g. pipelines/paper.ts)")
      const set = yield* parseSets("run", usage, values.set ?? [])
      applyDataDir(io, values["data-dir"])
      if (values.cluster !== undefined && !/^postgres(ql)?:\/\//.test(values.cluster)) {
        return yield* new UsageError({ command: "run", usage, problem: `--cluster ${values.cluster}: expected a postgres:// URL` })
      }
      const pipeline = yield* loadPipeline(file, io.cwd, values.preset)
      const remoteStore = yield* remoteStoreOf(io, values["remote-store"])
      const tensors = tensorServices(io, values.backend)
      const pool = poolOptions(values)
      const verbose = values.verbose === true
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
              io.err(`ssl-kd: pipeline ${pipeline.name}${values.preset ? ` (preset ${values.preset})` : ""}: ${toRun} of ${plan.nodes.length} stages to run, ${plan.nodes.length - toRun} cached`)
            }),
        }),
      ).pipe(Effect.provide(executorLayer(io, values, remoteStore)), Effect.provideService(RuntimeInfo, tensors.runtimeInfo))
      const cacheDir = cacheDirOf(io, values["cache-dir"])
      const outDir = values.out === undefined ? defaultOutDir(cacheDir, pipeline.name, values.preset) : path.resolve(io.cwd, values.out)
      const published = yield* Effect.result(publishOutputs({ storeRoot: cacheDir, ...(remoteStore === undefined ? {} : { remoteStore }), dir: outDir, pipeline, report }))
      if (published._tag === "Failure") io.err(`ssl-kd run: could not write the output folder ${relative(io, outDir)}: ${published.failure.message}`)
      if (values.json === true) {
        io.out(
          JSON.stringify({
            pipeline: report.pipeline,
            preset: report.preset,
            runId: report.runId,
            ok: report.ok,
            durationMs: report.durationMs,
            out: published._tag === "Success" ? published.success.dir : null,
            stages: runStages(report.stages),
          }),
        )
        return report.ok ? 0 : 1
      }
      const shown = verbose ? report.stages : report.stages.filter((s) => s.status !== "cached")
      const cached = report.stages.length - report.stages.filter((s) => s.status !== "cached").length
      if (shown.length > 0) {
        const rows = [["stage", "status", "time", "key", "why / error"]].concat(
          shown.map((s) => [s.name, s.status, s.status === "ran" ? formatDuration(s.durationMs) : "", short(s.key), s.error?.message ?? (s.status === "ran" ? s.reason ?? "" : "")]),
        )
        io.err(table(rows))
      }
      const ran = report.stages.filter((s) => s.status === "ran").length
      const failed = report.stages.filter((s) => s.status === "failed").length
      io.err(
        `${report.ok ? "ok" : "FAILED"} in ${formatDuration(report.durationMs)}: ${ran} ran, ${cached} cached${failed > 0 ? `, ${failed} failed` : ""}${!verbose && cached > 0 && shown.length < report.stages.length ? " (-v lists every stage)" : ""} (run ${report.runId})`,
      )
      for (const s of yield* stageSummaries(cacheDir, pipeline, report.stages)) {
        io.out(`\n${s.node} (${s.stage}):${s.text === "" ? "" : `\n${s.text}`}`)
      }
      if (published._tag === "Success") {
        const p = published.success
        io.out(`\noutputs: ${relative(io, p.dir)}/ (${[...Object.keys(p.outputs).map((n) => `${n}/`), ...(p.metricsFile === undefined ? [] : ["metrics.csv"]), "run.json"].join(", ")})`)
        for (const h of p.html) io.out(`report: ${relative(io, h)}`)
      }
      return report.ok ? 0 : 1
    }),
}
