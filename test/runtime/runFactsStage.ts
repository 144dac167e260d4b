/**
 * A stage that returns what `RuntimeInfo` tells it about its run (for
 * runFacts.test.ts). In a module of its own so that pool workers can import it.
 */
import { Effect, Schema } from "effect"
import { Artifact, Pipeline, Stage } from "../../dsl/index.ts"
import { RuntimeInfo } from "../../runtime/executor/RuntimeInfo.ts"
import { generate, sum } from "../dsl/sampleStages.ts"

export const Facts = Artifact.json("Facts", Schema.Unknown)

export const facts = Stage.make({
  name: "test/run-facts",
  config: Schema.Struct({ round: Schema.Int }),
  inputs: { total: sum.output },
  output: Facts,
  run: () =>
    Effect.gen(function* () {
      const info = yield* RuntimeInfo
      const f = info.run?.()
      return f === undefined
        ? null
        : {
            pipeline: f.pipeline,
            pool: f.pool,
            backend: info.backend(),
            nodes: f.nodes.map((n) => ({ node: n.node, stage: n.stage, config: n.config, status: n.status, deps: n.deps, timed: n.timing !== undefined })),
          }
    }),
})

export const factsPipeline = (round: number) =>
  Pipeline.make("facts")
    .stage("gen", generate, { config: { count: 4 } })
    .stage("total", sum, { inputs: { numbers: "gen" } })
    .stage("facts", facts, { inputs: { total: "total" }, config: { round } })
    .build()
