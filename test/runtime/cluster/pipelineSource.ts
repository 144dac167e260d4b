/**
 * The test pipelines of cluster.test.ts, as the source of a pipeline.ts file
 * written into each test's folder: stages that log each execution to `log`
 * ("<pid> <what>"), so "computed once" is counted; `itemFactor` and
 * `dataFile` let a second checkout differ in code or data.
 */
export const pipelineSource = (log: string, itemFactor = 10, dataFile = "data.txt") => `import * as fs from "node:fs"
import * as tf from "@tensorflow/tfjs-core"
import { Data, Effect, Schema } from "effect"
import { Artifact, Pipeline, Registry, Stage, StageContext } from "../../../dsl/index.ts"
import { runEpochs } from "../../../plugins/training/epochs.ts"

export const Num = Artifact.json("Num", Schema.Finite)

const note = (what: string) => fs.appendFileSync(${JSON.stringify(log)}, process.pid + " " + what + "\\n")

/** Appends "<pid> <x>" to the log (one line per execution), sleeps (then, with hold, waits until that file exists), returns ${itemFactor}x. */
export const item = Stage.make({
  name: "cluster-test/item",
  config: Schema.Struct({ x: Schema.Finite, ms: Schema.Finite, fail: Schema.optionalKey(Schema.Boolean), hold: Schema.optionalKey(Schema.String) }),
  inputs: {},
  output: Num,
  run: ({ config }) =>
    Effect.gen(function* () {
      yield* Effect.sync(() => note(String(config.x)))
      yield* Effect.sleep(config.ms)
      while (config.hold !== undefined && !fs.existsSync(config.hold)) yield* Effect.sleep(100)
      if (config.fail === true) return yield* Effect.fail(new ItemBroken({ x: config.x }))
      return config.x * ${itemFactor}
    }),
})

/** The same as item, declared for a gpu slot (the test runner has none: resource classes are slots, not devices). */
export const gpuItem = Stage.make({
  name: "cluster-test/gpu-item",
  config: Schema.Struct({ x: Schema.Finite }),
  inputs: {},
  output: Num,
  resource: "gpu",
  run: ({ config }) => Effect.sync(() => (note("gpu " + config.x), config.x * ${itemFactor})),
})

/** Reads a data file (its content is in the key: dataset identity), relative to the process's working folder. */
export const readsFile = Stage.make({
  name: "cluster-test/reads-file",
  config: Schema.Struct({ file: Schema.String }),
  inputs: {},
  output: Num,
  reads: (c) => [c.file],
  run: ({ config }) => Effect.sync(() => (note("read " + fs.readFileSync(config.file, "utf8").trim()), 1)),
})

/** A registry a user's plugin file (plugin.ts) adds to: the plugin's code is in the key of the stages whose config names it. */
export const shapes = new Registry<number>("shape")

export const usesPlugin = Stage.make({
  name: "cluster-test/uses-plugin",
  config: Schema.Struct({ shape: Schema.String }),
  inputs: {},
  output: Num,
  run: ({ config }) => Effect.gen(function* () {
    const v = yield* shapes.get(config.shape)
    yield* Effect.sync(() => note("plugin " + v))
    return v
  }),
})

/** Reports progress and logs a line per step, a step every ms: what a clustered run shows of a stage on a runner. */
export const chatty = Stage.make({
  name: "cluster-test/chatty",
  config: Schema.Struct({ steps: Schema.Int, ms: Schema.Finite }),
  inputs: {},
  output: Num,
  run: ({ config }) => Effect.gen(function* () {
    const ctx = yield* StageContext
    for (let i = 1; i <= config.steps; i++) {
      yield* ctx.progress({ done: i, total: config.steps, note: "step " + i })
      yield* ctx.log("did step " + i)
      yield* Effect.sleep(config.ms)
    }
    return config.steps
  }),
})

export class ItemBroken extends Data.TaggedError("ItemBroken")<{ readonly x: number }> {
  override get message() { return "item " + this.x + " is broken" }
}

export const total = Stage.make({
  name: "cluster-test/total",
  config: Schema.Struct({}),
  inputs: { xs: Artifact.many(Num) },
  output: Num,
  run: ({ inputs }) =>
    Effect.sync(() => {
      const sum = inputs.xs.reduce((a, b) => a + b.value, 0)
      note("total " + sum)
      return sum
    }),
})

const Curve = Artifact.json("Curve", Schema.Struct({ epochLosses: Schema.Array(Schema.Finite), stepLosses: Schema.Array(Schema.Finite), w: Schema.Array(Schema.Finite) }))

/** Blocks this thread (a pool worker's) for ms, like a training step's compute. */
const busy = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)

/** Linear regression by gradient descent through the paper stages' epoch loop: a checkpoint in the scratch folder after every epoch, resumed from it. */
export const train = Stage.make({
  name: "cluster-test/train",
  config: Schema.Struct({ epochs: Schema.Int, steps: Schema.Int, msPerStep: Schema.Finite }),
  inputs: {},
  output: Curve,
  run: ({ config }) =>
    Effect.gen(function* () {
      const x = tf.tensor2d([[1, 2], [2, 1], [3, 0], [0, 3]])
      const y = tf.tensor2d([[5], [4], [3], [6]])
      const w = tf.variable(tf.zeros([2, 1]), true, "w")
      const result = yield* runEpochs({
        stage: "cluster-test/train",
        run: "cluster-test-train",
        vars: new Map([["w", w]]),
        epochs: config.epochs,
        stepsPerEpoch: config.steps,
        step: () => {
          busy(config.msPerStep)
          return tf.tidy(() => {
            const err = tf.sub(tf.matMul(x, w), y)
            w.assign(tf.sub(w, tf.mul(0.02, tf.matMul(x, err, true, false))))
            return tf.mean(tf.square(err)).dataSync()[0]!
          })
        },
      })
      yield* Effect.sync(() => note("train start " + result.startEpoch))
      const out = { epochLosses: result.epochLosses, stepLosses: result.stepLosses, w: Array.from(w.dataSync()) }
      tf.dispose([x, y, w])
      return out
    }),
})

export const failing = Pipeline.make("cluster-test-failing")
  .fanOut("broken", item, { config: { ms: 10 }, over: { g: { x: 7, fail: true } } })
  .build()

const fan = (name: string, xs: ReadonlyArray<number>, ms: number, hold?: string) =>
  Pipeline.make(name)
    .fanOut("items", item, { config: { ms, ...(hold === undefined ? {} : { hold }) }, over: Object.fromEntries(xs.map((x) => ["i" + x, { x }])) })
    .stage("total", total, { inputs: { xs: "items" } })
    .build()

export const overlap = fan("cluster-test-overlap", [21, 22, 23, 24], 1500)
export const restart = fan("cluster-test-restart", [31, 32, 33, 34, 35, 36], 3000)
// Held until the test has seen them running and queued (it then creates the release file): no timing window to catch.
export const watched = fan("cluster-test-status", [41, 42, 43, 44, 45], 10, ${JSON.stringify(log + ".release")})
export const odd = fan("cluster-test-odd", [51], 10)

export const gpu = Pipeline.make("cluster-test-gpu")
  .fanOut("g", gpuItem, { config: {}, over: { a: { x: 61 }, b: { x: 62 } } })
  .fanOut("c", item, { config: { ms: 10 }, over: { a: { x: 63 }, b: { x: 64 } } })
  .build()

export const reading = Pipeline.make("cluster-test-reading")
  .stage("r", readsFile, { config: { file: ${JSON.stringify(dataFile)} } })
  .build()

export const plugged = Pipeline.make("cluster-test-plugged")
  .stage("p", usesPlugin, { config: { shape: "my-shape" } })
  .build()

export const talking = Pipeline.make("cluster-test-talking")
  .stage("chat", chatty, { config: { steps: 4, ms: 2500 } })
  .build()

export const training = Pipeline.make("cluster-test-train")
  .stage("train", train, { config: { epochs: 4, steps: 3, msPerStep: 700 } })
  .build()

export const lapsed = Pipeline.make("cluster-test-lapsed")
  .stage("train", train, { config: { epochs: 4, steps: 3, msPerStep: 800 } })
  .build()

export default Pipeline.make("cluster-test")
  .fanOut("items", item, { config: { ms: 1500 }, over: { a: { x: 1 }, b: { x: 2 }, c: { x: 3 }, d: { x: 4 }, e: { x: 5 }, f: { x: 6 } } })
  .stage("total", total, { inputs: { xs: "items" } })
  .build()
`
