/**
 * RuntimeInfo.run: a stage running in-process sees the run it is part of:
 * every node with its resolved config (defaults and --set applied), whether
 * it was cached, its dependencies, and the timings of the nodes finished so
 * far (this run's, or the cached entry's original ones).
 */
import { readFile } from "node:fs/promises"
import { join } from "node:path"
import { Effect, Schema } from "effect"
import { expect, it } from "vitest"
import { Artifact, Pipeline, Stage } from "../../dsl/index.ts"
import { RuntimeInfo } from "../../runtime/executor/RuntimeInfo.ts"
import { Executor } from "../../runtime/executor/Executor.ts"
import { generate, sum } from "../dsl/sampleStages.ts"
import { runPipeline, statuses, tempDir, withExecutor } from "./harness.ts"

const Facts = Artifact.json("Facts", Schema.Unknown)

const facts = Stage.make({
  name: "test/run-facts",
  config: Schema.Struct({ round: Schema.Int }),
  inputs: { total: sum.output },
  output: Facts,
  run: () =>
    Effect.gen(function* () {
      const info = yield* RuntimeInfo
      const f = info.run?.()
      return f === undefined ? null : { pipeline: f.pipeline, nodes: f.nodes.map((n) => ({ node: n.node, stage: n.stage, config: n.config, status: n.status, deps: n.deps, timed: n.timing !== undefined })) }
    }),
})

const pipeline = (round: number) =>
  Pipeline.make("facts")
    .stage("gen", generate, { config: { count: 4 } })
    .stage("total", sum, { inputs: { numbers: "gen" } })
    .stage("facts", facts, { inputs: { total: "total" }, config: { round } })
    .build()

const factsValue = (dir: string, round: number) =>
  Effect.runPromise(
    Executor.use((e) => e.plan(pipeline(round), { set: { total: { scale: 3 } } })).pipe(
      Effect.provide(withExecutor(dir)),
      Effect.map((plan) => plan.nodes.find((n) => n.node.name === "facts")?.manifest),
    ),
  )

it("gives a stage the run's nodes, resolved configs, statuses, dependencies and finished timings", async () => {
  const dir = await tempDir("facts")
  const first = await runPipeline(dir, pipeline(1), { set: { total: { scale: 3 } } })
  expect(statuses(first)).toEqual({ gen: "ran", total: "ran", facts: "ran" })
  const second = await runPipeline(dir, pipeline(2), { set: { total: { scale: 3 } } })
  expect(statuses(second)).toEqual({ gen: "cached", total: "cached", facts: "ran" })
  const manifest = await factsValue(dir, 2)
  expect(manifest).toBeDefined()
  const value = JSON.parse(await readFile(join(dir, "entries", manifest!.key.slice(0, 2), manifest!.key, "payload", "value.json"), "utf8"))
  expect(value).toEqual({
    pipeline: "facts",
    nodes: [
      { node: "gen", stage: "test/generate", config: { count: 4 }, status: "cached", deps: [], timed: true },
      { node: "total", stage: "test/sum", config: { scale: 3 }, status: "cached", deps: ["gen"], timed: true },
      { node: "facts", stage: "test/run-facts", config: { round: 2 }, status: "will-run", deps: ["total"], timed: false },
    ],
  })
})
