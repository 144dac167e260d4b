/**
 * The README's examples against the public surface (`dsl/index.ts`,
 * `plugins/index.ts`), type-checked by `npm test` (tsc). The first part is
 * README's "Writing a pipeline" example verbatim, imports rewritten from
 * `ssl-kd/dsl` to the repository path (`test/readme.test.ts` checks it stays
 * verbatim); the second wires the paper's stages from `plugins/index.ts`
 * alone, as a pipeline author outside the repository would.
 */
// (The second part's import, hoisted so the README part stays verbatim.)
import { acSelectPretrained, jointDistill, paperTeachers, pretrainDino, pretrainMae } from "../plugins/index.ts"
import { Effect, Schema } from "effect"
import { Artifact, Config, Pipeline, Stage, StageContext } from "../dsl/index.ts"

const Numbers = Artifact.json("Numbers", Schema.Array(Schema.Finite))
const Total = Artifact.json("Total", Schema.Finite)

export const generate = Stage.make({
  name: "example/generate",
  config: Schema.Struct({ count: Config.withDefault(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1000 })), 3) }),
  inputs: {},
  output: Numbers,
  run: ({ config }) => Effect.succeed(Array.from({ length: config.count }, (_, i) => i + 1)),
})

export const sum = Stage.make({
  name: "example/sum",
  config: Schema.Struct({ scale: Config.withDefault(Schema.Finite, 1) }),
  inputs: { numbers: Numbers },
  output: Total,
  run: ({ config, inputs }) =>
    Effect.gen(function* () {
      const ctx = yield* StageContext          // progress, log, scratchDir (per-key, survives interruption)
      yield* ctx.progress({ done: 1, total: 1 })
      return inputs.numbers.reduce((a, b) => a + b, 0) * config.scale
    }),
})

export default Pipeline.make("example")
  .stage("gen", generate, { config: { count: 10 } })
  .stage("total", sum, { inputs: { numbers: "gen" } })                       // "gen" must produce Numbers: checked by tsc
  .fanOut("scaled", sum, { inputs: { numbers: "gen" }, over: { x2: { scale: 2 }, x10: { scale: 10 } } })
  .preset("small", { gen: { count: 2 } })
  .build()

// A two-teacher pipeline from the public surface alone: pretraining, eq. 2 on the pretrained teachers, eq. 4.

export const twoTeachers = Pipeline.make("two-teachers")
  .stage("dino", pretrainDino, { config: { dataset: "synthetic-shapes", trainCount: 64, epochs: 1 } })
  .stage("mae", pretrainMae, { config: { dataset: "synthetic-shapes", trainCount: 64, epochs: 1 } })
  .stage("ac-dino", acSelectPretrained, { inputs: { teacher: "dino" } })
  .stage("ac-mae", acSelectPretrained, { inputs: { teacher: "mae" } })
  .stage("ours", jointDistill, {
    inputs: { pretrained: ["dino", "mae"], adapted: [], heads: ["ac-dino", "ac-mae"] },
    config: { dataset: "synthetic-shapes", teachers: paperTeachers({ cl: "dino", mim: "mae", clHeads: "ac-dino", mimHeads: "ac-mae" }) },
  })
  .build()
