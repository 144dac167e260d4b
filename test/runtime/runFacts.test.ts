/**
 * RuntimeInfo.run: a stage sees the run it is part of: every node with its
 * resolved config (defaults and --set applied), whether it was cached, its
 * dependencies, and the timings of the nodes finished so far (this run's, or
 * the cached entry's original ones). In-process, and in a pool worker (a
 * snapshot sent with the job).
 */
import { readFile } from "node:fs/promises"
import { join } from "node:path"
import { Effect } from "effect"
import { expect, it } from "vitest"
import { Executor } from "../../runtime/executor/Executor.ts"
import { runPipeline, statuses, tempDir, withExecutor } from "./harness.ts"
import { factsPipeline as pipeline } from "./runFactsStage.ts"

const set = { total: { scale: 3 } }

const factsValue = async (dir: string, round: number) => {
  const manifest = await Effect.runPromise(
    Executor.use((e) => e.plan(pipeline(round), { set })).pipe(
      Effect.provide(withExecutor(dir)),
      Effect.map((plan) => plan.nodes.find((n) => n.node.name === "facts")?.manifest),
    ),
  )
  expect(manifest).toBeDefined()
  return JSON.parse(await readFile(join(dir, "entries", manifest!.key.slice(0, 2), manifest!.key, "payload", "value.json"), "utf8"))
}

const expectedNodes = (round: number) => [
  { node: "gen", stage: "test/generate", config: { count: 4 }, status: "cached", deps: [], timed: true },
  { node: "total", stage: "test/sum", config: { scale: 3 }, status: "cached", deps: ["gen"], timed: true },
  { node: "facts", stage: "test/run-facts", config: { round }, status: "will-run", deps: ["total"], timed: false },
]

it("gives a stage the run's nodes, resolved configs, statuses, dependencies and finished timings", async () => {
  const dir = await tempDir("facts")
  const first = await runPipeline(dir, pipeline(1), { set })
  expect(statuses(first)).toEqual({ gen: "ran", total: "ran", facts: "ran" })
  const second = await runPipeline(dir, pipeline(2), { set })
  expect(statuses(second)).toEqual({ gen: "cached", total: "cached", facts: "ran" })
  expect(await factsValue(dir, 2)).toEqual({ pipeline: "facts", pool: "none", backend: "none", nodes: expectedNodes(2) })
})

it("gives the same facts to a stage running in a pool worker (a report rendered with SSL_KD_POOL=all keeps them)", async () => {
  const dir = await tempDir("facts-pool")
  const run = (round: number) =>
    Effect.runPromise(
      Executor.use((e) => e.run(pipeline(round), { set, pool: { workers: 1, scope: "all" } })).pipe(Effect.provide(withExecutor(dir))),
    )
  expect(statuses(await run(1))).toEqual({ gen: "ran", total: "ran", facts: "ran" })
  expect(statuses(await run(2))).toEqual({ gen: "cached", total: "cached", facts: "ran" })
  expect(await factsValue(dir, 2)).toEqual({ pipeline: "facts", pool: "all", backend: "none", nodes: expectedNodes(2) })
}, 60_000)
