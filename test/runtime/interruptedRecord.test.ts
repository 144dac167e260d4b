/**
 * An interrupted run's record lists the stages that finished before the
 * interruption (so `ssl-kd runs` and `runs diff` can say what it completed),
 * and not the one that was cut off.
 */
import { Effect, Fiber, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { Artifact, Pipeline, Stage } from "../../dsl/index.ts"
import { Executor } from "../../runtime/executor/Executor.ts"
import { readRunRecords } from "../../runtime/cache/runRecord.ts"
import { tempDir, withExecutor } from "./harness.ts"

const Num = Artifact.json("InterruptedNum", Schema.Finite)
const quick = Stage.make({ name: "test/interrupted-quick", config: Schema.Struct({}), inputs: {}, output: Num, run: () => Effect.succeed(1) })
const endless = Stage.make({ name: "test/interrupted-endless", config: Schema.Struct({}), inputs: { x: Num }, output: Num, run: () => Effect.never })

describe("interrupted run record", () => {
  it("records the stages that finished, marked interrupted, and not the one cut off", async () => {
    const cache = await tempDir("interrupted-record")
    const pipeline = Pipeline.make("interrupted").stage("first", quick, {}).stage("second", endless, { inputs: { x: "first" } }).build()
    await Effect.runPromise(
      Effect.gen(function* () {
        const executor = yield* Executor
        const fiber = yield* Effect.forkChild(executor.run(pipeline))
        // Wait until `first` is committed (its entry exists), then interrupt while `second` runs.
        for (let i = 0; i < 200; i++) {
          const plan = yield* executor.plan(pipeline)
          if (plan.nodes.find((n) => n.node.name === "first")?.status === "cached") break
          yield* Effect.sleep("25 millis")
        }
        yield* Fiber.interrupt(fiber)
      }).pipe(Effect.provide(withExecutor(cache))),
    )
    const records = await Effect.runPromise(readRunRecords(cache))
    expect(records).toHaveLength(1)
    const r = records[0]!
    expect(r.interrupted).toBe(true)
    expect(r.ok).toBe(false)
    expect(r.stages.map((s) => [s.name, s.status])).toEqual([["first", "ran"]])
  })
})
