/**
 * The stage modules of pool.test.ts, as source text: the test writes them to
 * a temp folder under test/.tmp/ (as a user's modules would be), so that pool
 * workers import the stages from their declaration site. Their relative
 * imports are from that folder.
 */
export const STAGES = `import * as fs from "node:fs"
import * as path from "node:path"
import { threadId } from "node:worker_threads"
import { Data, Duration, Effect, Schema } from "effect"
import { Artifact, Config, Pipeline, Stage, StageContext } from "../../../dsl/index.ts"
import { ArtifactDecodeError } from "../../../dsl/Artifact.ts"

export const Numbers = Artifact.json("Numbers", Schema.Array(Schema.Finite))
export const Scaled = Artifact.json("Scaled", Schema.Struct({ values: Schema.Array(Schema.Finite), total: Schema.Finite }))
export const Summary = Artifact.json("Summary", Schema.String)
export const Timing = Artifact.json("Timing", Schema.Struct({ threadId: Schema.Int, start: Schema.Finite, end: Schema.Finite, together: Schema.Boolean }))

export class ScaleRefused extends Data.TaggedError("ScaleRefused")<{ readonly factor: number }> {
  override get message() {
    return \`factor \${this.factor} is refused\`
  }
}

export const numbers = Stage.make({
  name: "pool/numbers",
  config: Schema.Struct({ count: Config.withDefault(Schema.Int, 4) }),
  inputs: {},
  output: Numbers,
  run: ({ config }) => Effect.succeed(Array.from({ length: config.count }, (_, i) => i + 1)),
})

export const scale = Stage.make({
  name: "pool/scale",
  config: Schema.Struct({ factor: Config.withDefault(Schema.Finite, 1), fail: Config.withDefault(Schema.Boolean, false) }),
  inputs: { numbers: Numbers },
  output: Scaled,
  run: ({ config, inputs }) =>
    Effect.gen(function* () {
      const ctx = yield* StageContext
      yield* ctx.log(\`scaling by \${config.factor} in thread \${threadId}\`)
      if (config.fail) return yield* new ScaleRefused({ factor: config.factor })
      const values = inputs.numbers.map((x) => x * config.factor)
      yield* ctx.progress({ done: 1, total: 1, note: "scaled" })
      return { values, total: values.reduce((a, b) => a + b, 0) }
    }),
})

/** A single (not fan-out) node between two nodes: for the pool's \`all\` scope. */
export const singlePipeline = () =>
  Pipeline.make("pool-all").stage("numbers", numbers, {}).stage("single", scale, { inputs: { numbers: "numbers" }, config: { factor: 2 } }).build()

/** A fan-out item with an Artifact.many input (every item of another fan-out). */
export const combine = Stage.make({
  name: "pool/combine",
  config: Schema.Struct({ offset: Config.withDefault(Schema.Finite, 0) }),
  inputs: { all: Artifact.many(Scaled), numbers: Numbers },
  output: Summary,
  run: ({ config, inputs }) =>
    Effect.succeed(inputs.all.map(({ item, value }) => \`\${item}=\${value.total + config.offset}\`).join(",") + \`;n=\${inputs.numbers.length}\`),
})

/** Waits until \`expect\` items have started (a barrier in \`dir\`), then keeps its thread busy. */
export const timed = Stage.make({
  name: "pool/timed",
  config: Schema.Struct({ dir: Schema.String, label: Schema.String, expect: Schema.Int, busyMs: Config.withDefault(Schema.Int, 300) }),
  inputs: { numbers: Numbers },
  output: Timing,
  run: ({ config }) =>
    Effect.gen(function* () {
      fs.writeFileSync(path.join(config.dir, \`started-\${config.label}\`), String(threadId))
      let together = false
      for (let i = 0; i < 600 && !together; i++) {
        together = fs.readdirSync(config.dir).filter((f) => f.startsWith("started-")).length >= config.expect
        if (!together) yield* Effect.sleep(Duration.millis(50))
      }
      const start = Date.now()
      while (Date.now() - start < config.busyMs) {
        // busy: only another thread can make progress meanwhile
      }
      return { threadId, start, end: Date.now(), together }
    }),
})

/** Reports progress every step; records its own interruption in \`dir\`. */
export const slow = Stage.make({
  name: "pool/slow",
  config: Schema.Struct({ dir: Schema.String, steps: Config.withDefault(Schema.Int, 400), stepMs: Config.withDefault(Schema.Int, 50) }),
  inputs: { numbers: Numbers },
  output: Scaled,
  run: ({ config, inputs }) =>
    Effect.gen(function* () {
      const ctx = yield* StageContext
      for (let i = 0; i < config.steps; i++) {
        if (i === 1) yield* ctx.log("second step")
        yield* Effect.sleep(Duration.millis(config.stepMs))
        yield* ctx.progress({ done: i + 1, total: config.steps })
      }
      return { values: inputs.numbers, total: 0 }
    }).pipe(Effect.onInterrupt(() => Effect.sync(() => fs.writeFileSync(path.join(config.dir, \`interrupted-\${threadId}\`), "")))),
})

/** Appends its label to \`dir\`/order.log when it starts, then sleeps \`ms\`. */
export const ordered = Stage.make({
  name: "pool/ordered",
  config: Schema.Struct({ dir: Schema.String, label: Schema.String, ms: Config.withDefault(Schema.Int, 200) }),
  inputs: { numbers: Numbers },
  output: Numbers,
  run: ({ config, inputs }) =>
    Effect.gen(function* () {
      fs.appendFileSync(path.join(config.dir, "order.log"), \`\${config.label}\\n\`)
      yield* Effect.sleep(Duration.millis(config.ms))
      return inputs.numbers
    }),
})

// Not exported: a worker cannot find it, so its items run in-process.
const hidden = Stage.make({
  name: "pool/hidden",
  config: Schema.Struct({ label: Schema.String }),
  inputs: { numbers: Numbers },
  output: Summary,
  run: ({ config, inputs }) => Effect.succeed(\`\${config.label}:\${inputs.numbers.join("+")}:\${threadId}\`),
})

/** Ends its thread (a pool worker) when \`die\` is set. */
export const crash = Stage.make({
  name: "pool/crash",
  config: Schema.Struct({ label: Schema.String, die: Config.withDefault(Schema.Boolean, false) }),
  inputs: { numbers: Numbers },
  output: Summary,
  run: ({ config }) =>
    Effect.sync(() => {
      if (config.die) process.exit(7)
      return config.label
    }),
})

/** Records the thread of every decode of its values (this module's instance: the main process's). */
export const decodedIn: Array<number> = []
export const Counted = Artifact.make("Counted", {
  encode: (value: ReadonlyArray<number>) => Numbers.encode(value),
  decode: (files) => Effect.sync(() => void decodedIn.push(threadId)).pipe(Effect.andThen(Numbers.decode(files))),
})

export const countedStep = Stage.make({
  name: "pool/counted-step",
  config: Schema.Struct({ add: Config.withDefault(Schema.Finite, 1) }),
  inputs: { numbers: Numbers },
  output: Counted,
  run: ({ config, inputs }) => Effect.succeed(inputs.numbers.map((x) => x + config.add)),
})

export const countedNext = Stage.make({
  name: "pool/counted-next",
  config: Schema.Struct({ add: Config.withDefault(Schema.Finite, 1) }),
  inputs: { numbers: Counted },
  output: Counted,
  run: ({ config, inputs }) => Effect.succeed(inputs.numbers.map((x) => x + config.add)),
})

/** Encodes, but what it encodes never decodes (a codec bug). */
export const Broken = Artifact.make("Broken", {
  encode: (value: ReadonlyArray<number>) => Numbers.encode(value),
  decode: () => Effect.fail(new ArtifactDecodeError({ artifact: "Broken", file: "value.json", reason: "this codec cannot read its own files" })),
})

export const broken = Stage.make({ name: "pool/broken", config: Schema.Struct({}), inputs: { numbers: Numbers }, output: Broken, run: ({ inputs }) => Effect.succeed(inputs.numbers) })

export const brokenPipeline = () => Pipeline.make("pool-broken").stage("numbers", numbers, {}).stage("broken", broken, { inputs: { numbers: "numbers" } }).build()

/** numbers -> mid -> end, the values of mid and end decoded through Counted. */
export const countedPipeline = (endAdd: number) =>
  Pipeline.make("pool-counted")
    .stage("numbers", numbers, {})
    .stage("mid", countedStep, { inputs: { numbers: "numbers" }, config: { add: 10 } })
    .stage("end", countedNext, { inputs: { numbers: "mid" }, config: { add: endAdd } })
    .build()

export const crashPipeline = () =>
  Pipeline.make("pool-crash")
    .stage("numbers", numbers, {})
    .fanOut("c", crash, { inputs: { numbers: "numbers" }, over: { ok: { label: "ok" }, dies: { label: "dies", die: true } } })
    .build()

export const mainPipeline = () =>
  Pipeline.make("pool-main")
    .stage("numbers", numbers, {})
    .fanOut("scaled", scale, { inputs: { numbers: "numbers" }, over: { x2: { factor: 2 }, x3: { factor: 3 }, x5: { factor: 5 } } })
    .fanOut("combined", combine, { inputs: { all: "scaled", numbers: "numbers" }, over: { o0: { offset: 0 }, o1: { offset: 1 } } })
    .build()

export const failingPipeline = () =>
  Pipeline.make("pool-failing")
    .stage("numbers", numbers, {})
    .fanOut("scaled", scale, { inputs: { numbers: "numbers" }, over: { ok: { factor: 2 }, bad: { factor: 7, fail: true }, also: { factor: 3 } } })
    .build()

export const hiddenPipeline = () =>
  Pipeline.make("pool-hidden")
    .stage("numbers", numbers, {})
    .fanOut("h", hidden, { inputs: { numbers: "numbers" }, over: { a: { label: "a" }, b: { label: "b" } } })
    .build()

export const timedPipeline = (dir: string) =>
  Pipeline.make("pool-timed")
    .stage("numbers", numbers, {})
    .fanOut("timed", timed, { inputs: { numbers: "numbers" }, over: { a: { dir, label: "a", expect: 2 }, b: { dir, label: "b", expect: 2 } } })
    .build()

/** Two independent slow items: with one worker, the second waits for the first. */
export const twoSlowPipeline = (dir: string) =>
  Pipeline.make("pool-two-slow")
    .stage("numbers", numbers, {})
    .fanOut("slow", slow, { inputs: { numbers: "numbers" }, over: { a: { dir, steps: 12, stepMs: 50 }, b: { dir, steps: 13, stepMs: 50 } } })
    .build()

/** Three independent trainings and an evaluation of the first: with one worker, the evaluation goes before the trainings still queued. */
export const orderedPipeline = (dir: string) =>
  Pipeline.make("pool-ordered")
    .stage("numbers", numbers, {})
    .stage("train-a", ordered, { inputs: { numbers: "numbers" }, config: { dir, label: "train-a" } })
    .stage("train-b", ordered, { inputs: { numbers: "numbers" }, config: { dir, label: "train-b" } })
    .stage("train-c", ordered, { inputs: { numbers: "numbers" }, config: { dir, label: "train-c" } })
    .stage("eval-a", ordered, { inputs: { numbers: "train-a" }, config: { dir, label: "eval-a", ms: 10 } })
    .build()

export const slowPipeline = (dir: string) =>
  Pipeline.make("pool-slow")
    .stage("numbers", numbers, {})
    .fanOut("slow", slow, { inputs: { numbers: "numbers" }, over: { long: { dir } } })
    .build()
`

export const TENSOR_STAGES = `import { threadId } from "node:worker_threads"
import * as tf from "@tensorflow/tfjs-core"
import { Effect, Schema } from "effect"
import { Artifact, Config, Pipeline, Stage } from "../../../dsl/index.ts"
import { TensorBackend } from "../../../runtime/backend/TensorBackend.ts"
import { Numbers, numbers } from "./stages.ts"

export const Product = Artifact.json(
  "Product",
  Schema.Struct({ values: Schema.Array(Schema.Finite), backend: Schema.String, threadId: Schema.Int, leaked: Schema.Int }),
)

export const matmul = Stage.make({
  name: "pool/matmul",
  config: Schema.Struct({ k: Config.withDefault(Schema.Finite, 1) }),
  inputs: { numbers: Numbers },
  output: Product,
  run: ({ config, inputs }) =>
    Effect.gen(function* () {
      const backend = yield* TensorBackend
      const before = tf.memory().numTensors
      const values = tf.tidy(() => {
        const a = tf.tensor2d([inputs.numbers.slice(0, 2), inputs.numbers.slice(2, 4)])
        const b = tf.mul(tf.eye(2), tf.scalar(config.k))
        return Array.from(tf.matMul(a, b).dataSync())
      })
      return { values, backend: backend.info.name, threadId, leaked: tf.memory().numTensors - before }
    }),
})

export const tensorPipeline = () =>
  Pipeline.make("pool-tensors")
    .stage("numbers", numbers, {})
    .fanOut("mm", matmul, { inputs: { numbers: "numbers" }, over: { k2: { k: 2 }, k3: { k: 3 } } })
    .build()
`
