/**
 * `ssl-kd plan <pipeline.ts> [--preset P] [--force STAGE]... [--json]`
 *
 * What would run and what would be served from the cache, with each stage's
 * key and the reason it would run, without running anything.
 */
import { Effect } from "effect"
import { Executor } from "../../executor/Executor.ts"
import { parseWith, parseSets, requirePositional } from "../args.ts"
import type { CommandHelp } from "../help.ts"
import type { CliCommand } from "../Command.ts"
import { loadPipeline } from "../loadPipeline.ts"
import { applyDataDir, executorLayer, pipelineOptions, remoteStoreOf, planStages, presetHelp, short, table } from "../session.ts"

const usage = "ssl-kd plan <pipeline.ts> [--preset P] [--set NODE.FIELD=VALUE]... [--force STAGE]... [--json] [--data-dir DIR] [--cache-dir DIR] [--remote-store URL]"

const { preset, set, force, json } = pipelineOptions
export const help = {
  usage,
  summary: "Show what `run` would do, without running: each stage's key, whether it is cached, and why it would run (the changed config field, code, upstream entry or data file).",
  args: { "<pipeline.ts>": "The pipeline file, e.g. pipelines/paper.ts." },
  options: { preset, set, force, json, "data-dir": pipelineOptions["data-dir"], "cache-dir": pipelineOptions["cache-dir"], "remote-store": pipelineOptions["remote-store"] },
  examples: ["ssl-kd plan pipelines/paper.ts --set ours.lambda1=0.7", "ssl-kd plan pipelines/paper.ts --preset smoke --json"],
} as const satisfies CommandHelp

export const command: CliCommand = {
  name: "plan",
  summary: "show what would run or be served from the cache, without running",
  usage,
  help,
  helpMore: presetHelp,
  run: (argv, io) =>
    Effect.gen(function* () {
      const { values, positionals } = yield* parseWith("plan", help, argv)
      applyDataDir(io, values["data-dir"])
      const file = yield* requirePositional("plan", usage, positionals, 0, "the pipeline file")
      const set = yield* parseSets("plan", usage, values.set ?? [])
      const pipeline = yield* loadPipeline(file, io.cwd, values.preset)
      const remoteStore = yield* remoteStoreOf(io, values["remote-store"], { create: false })
      const plan = yield* Executor.use((e) => e.plan(pipeline, { preset: values.preset, force: values.force ?? [], set })).pipe(
        Effect.provide(executorLayer(io, { ...values, quiet: true }, remoteStore)),
      )
      const stages = planStages(plan)
      if (values.json === true) io.out(JSON.stringify({ pipeline: pipeline.name, preset: values.preset ?? null, stages }))
      else {
        io.out(table([["stage", "status", "key", "reason"], ...stages.map((s) => [s.name, s.status, short(s.key), s.reason ?? ""])]))
      }
      return 0
    }),
}
