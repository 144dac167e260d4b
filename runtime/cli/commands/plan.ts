/**
 * `ssl-kd plan <pipeline.ts> [--preset P] [--force STAGE]... [--json]`
 *
 * What would run and what would be served from the cache, with each stage's
 * key and the reason it would run, without running anything.
 */
import { Effect } from "effect"
import { Executor } from "../../executor/Executor.ts"
import { checkCommonFlags, parse, parseSets, requirePositional } from "../args.ts"
import type { CliCommand } from "../Command.ts"
import { loadPipeline } from "../loadPipeline.ts"
import { commonOptions, executorLayer, planStages, short, table } from "../session.ts"

const usage = "ssl-kd plan <pipeline.ts> [--preset P] [--force STAGE]... [--set NODE.FIELD=VALUE]... [--json] [--cache-dir D]"

export const command: CliCommand = {
  name: "plan",
  summary: "show what would run or be served from the cache, without running",
  usage,
  run: (argv, io) =>
    Effect.gen(function* () {
      const { values, positionals } = yield* parse("plan", usage, argv, { ...commonOptions, force: { type: "string", multiple: true } })
      yield* checkCommonFlags("plan", usage, values)
      const file = yield* requirePositional("plan", usage, positionals, 0, "the pipeline file")
      const set = yield* parseSets("plan", usage, values.set ?? [])
      const pipeline = yield* loadPipeline(file, io.cwd, values.preset)
      const plan = yield* Executor.use((e) => e.plan(pipeline, { preset: values.preset, force: values.force ?? [], set })).pipe(
        Effect.provide(executorLayer(io, { ...values, quiet: true })),
      )
      const stages = planStages(plan)
      if (values.json === true) io.out(JSON.stringify({ pipeline: pipeline.name, preset: values.preset ?? null, stages }))
      else {
        io.out(table([["stage", "status", "key", "reason"], ...stages.map((s) => [s.name, s.status, short(s.key), s.reason ?? ""])]))
      }
      return 0
    }),
}
