/**
 * The no-op stages of the cluster benchmark's dispatch-overhead chain
 * (cluster.bench.ts): exported top-level values, so runners can import them
 * by address; they do no work, so a chain of them times what running a stage
 * costs besides its own code (planning, dispatch, commit, read-back).
 */
import { Effect, Schema } from "effect"
import { Artifact, Stage } from "../../dsl/index.ts"

export const Count = Artifact.json("BenchCount", Schema.Finite)

/** A fresh `salt` gives fresh keys, so every round runs. */
const Salted = Schema.Struct({ salt: Schema.String })

export const chainHead = Stage.make({
  name: "bench/cluster-chain-head",
  config: Salted,
  inputs: {},
  output: Count,
  run: () => Effect.succeed(0),
})

export const chainLink = Stage.make({
  name: "bench/cluster-chain-link",
  config: Salted,
  inputs: { x: Count },
  output: Count,
  run: ({ inputs }) => Effect.succeed(inputs.x + 1),
})
