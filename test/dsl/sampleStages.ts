/** Small stages shared by the DSL tests (no tensors, no I/O). */
import { Effect, Schema } from "effect"
import { Artifact, Config, Stage } from "../../dsl/index.ts"

export const Numbers = Artifact.json("Numbers", Schema.Array(Schema.Finite))
export const Total = Artifact.json("Total", Schema.Struct({ total: Schema.Finite }))
export const Label = Artifact.json("Label", Schema.String)


export const generate = Stage.make({
  name: "test/generate",
  config: Schema.Struct({
    count: Config.withDefault(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1000 })), 3),
  }),
  inputs: {},
  output: Numbers,
  run: ({ config }) => Effect.succeed(Array.from({ length: config.count }, (_, i) => i + 1)),
})

export const sum = Stage.make({
  name: "test/sum",
  config: Schema.Struct({ scale: Config.withDefault(Schema.Finite, 1) }),
  inputs: { numbers: Numbers },
  output: Total,
  run: ({ config, inputs }) => Effect.succeed({ total: inputs.numbers.reduce((a, b) => a + b, 0) * config.scale }),
})

export const describeTotals = Stage.make({
  name: "test/describe-totals",
  config: Schema.Struct({}),
  inputs: { totals: Artifact.many(Total) },
  output: Label,
  run: ({ inputs }) => Effect.succeed(inputs.totals.map((t) => `${t.item}=${t.value.total}`).join(",")),
})
