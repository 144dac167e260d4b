/**
 * Downstream evaluation throughput (issue 6): one distilled student scored
 * by `paper/evaluate` on 4 downstream datasets, fanned out, run in process
 * (one tfjs engine: items take turns) and in the worker pool with 2 workers
 * (one engine per worker thread). Prints both wall times, the speed-up, and
 * whether the 4 scores (top-1, per-class, k-NN) are identical.
 *
 *   node --import tsx test/bench/evaluation.bench.ts [--json] [--backend wasm] [--workers 2]
 *
 * The student is trained once (1 epoch on 512 synthetic images) into a
 * temporary cache; each timed run forces only the evaluation nodes.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { Effect, Layer } from "effect"
import { Pipeline } from "../../dsl/index.ts"
import { trainStudent } from "../../plugins/stages/paper/baselines.ts"
import { evaluate } from "../../plugins/stages/paper/downstream.ts"
import { TensorBackend } from "../../runtime/backend/TensorBackend.ts"
import { Executor, layerLocal } from "../../runtime/executor/Executor.ts"
import { layerSilent } from "../../runtime/progress/Progress.ts"

const argv = process.argv.slice(2)
const json = argv.includes("--json")
const flag = (name: string) => {
  const at = argv.indexOf(name)
  return at >= 0 ? argv[at + 1] : undefined
}
const backend = flag("--backend") ?? process.env.SSL_KD_BACKEND ?? "wasm"
const workers = Number(flag("--workers") ?? 2)

const fmnist = await fs.access("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").then(() => true, () => process.env.SSL_KD_DATA_DIR !== undefined)
const datasets: Record<string, { dataset: string; trainCount: number; testCount: number }> = {
  [fmnist ? "fashion-mnist" : "synthetic-shapes"]: { dataset: fmnist ? "fashion-mnist" : "synthetic-shapes", trainCount: 2000, testCount: 1000 },
  ...(fmnist ? { "synthetic-shapes": { dataset: "synthetic-shapes", trainCount: 2000, testCount: 500 } } : { "synthetic-shapes-2": { dataset: "synthetic-shapes", trainCount: 1500, testCount: 500 } }),
  "synthetic-textures": { dataset: "synthetic-textures", trainCount: 2000, testCount: 500 },
  "synthetic-counting": { dataset: "synthetic-counting", trainCount: 2000, testCount: 500 },
}

const pipeline = Pipeline.make("bench-evaluation")
  .stage("student", trainStudent, {
    config: { dataset: "synthetic-shapes", trainCount: 512, epochs: 1, batchSize: 64, student: { arch: "vitMicroPatch7_28", embedDim: 96, depth: 4, numHeads: 3 } },
  })
  .fanOut("eval", evaluate, { inputs: { model: "student" }, over: datasets })
  .build()

const cache = await fs.mkdtemp(path.join(os.tmpdir(), "ssl-kd-bench-eval-"))
const executor = layerLocal({ cacheDir: cache, workers }).pipe(Layer.provide(layerSilent))
const stageServices = TensorBackend.layer({ flag: backend })

const run = (pool: boolean) =>
  Effect.runPromise(
    Executor.use((e) =>
      e.run(pipeline, {
        force: ["eval"],
        stageServices,
        ...(pool ? { pool: { workers, tensorBackend: { flag: backend, env: undefined } } } : {}),
      }),
    ).pipe(Effect.provide(executor)),
  )

/** The scores of the eval items, without their timing fields. */
const scores = async () => {
  const out: Record<string, unknown> = {}
  const files = (await fs.readdir(path.join(cache, "entries"), { recursive: true })).filter((f) => f.endsWith("manifest.json"))
  for (const f of files) {
    const manifest = JSON.parse(await fs.readFile(path.join(cache, "entries", f), "utf8")) as { node: string }
    if (!manifest.node.startsWith("eval[")) continue
    const value = JSON.parse(await fs.readFile(path.join(cache, "entries", path.dirname(f), "payload", "value.json"), "utf8")) as Record<string, unknown>
    const { seconds: _s, trainingSeconds: _t, ...rest } = value
    out[manifest.node] = rest
  }
  return out
}

// Train the student (and warm the caches of dataset digests and fingerprints); untimed.
const warm = await run(false)
if (!warm.ok) throw new Error(`bench setup failed: ${JSON.stringify(warm.stages.filter((s) => s.status === "failed"))}`)
const time = async (pool: boolean) => {
  const t0 = performance.now()
  const r = await run(pool)
  const seconds = (performance.now() - t0) / 1000
  if (!r.ok) throw new Error(`evaluation run failed: ${JSON.stringify(r.stages.filter((s) => s.status === "failed"))}`)
  const items = Object.fromEntries(r.stages.filter((s) => s.name.startsWith("eval[")).map((s) => [s.name, s.durationMs / 1000]))
  return { seconds, items, scores: await scores() }
}
const one = await time(false)
const pooled = await time(true)
const identical = JSON.stringify(one.scores, Object.keys(one.scores).sort()) !== "{}" && JSON.stringify(Object.entries(one.scores).sort()) === JSON.stringify(Object.entries(pooled.scores).sort())
const result = {
  bench: "evaluation",
  backend,
  datasets: Object.keys(datasets),
  inProcessSeconds: one.seconds,
  workers,
  pooledSeconds: pooled.seconds,
  speedup: one.seconds / pooled.seconds,
  inProcessItemSeconds: one.items,
  pooledItemSeconds: pooled.items,
  identicalScores: identical,
  cpus: os.availableParallelism(),
}
await fs.rm(cache, { recursive: true, force: true })
if (json) console.log(JSON.stringify(result))
else {
  console.log(`evaluation bench (${backend}): one student on ${result.datasets.length} downstream datasets (${result.datasets.join(", ")})`)
  console.log(`  in process (1 tfjs engine): ${one.seconds.toFixed(2)} s`)
  console.log(`  worker pool, ${workers} workers:    ${pooled.seconds.toFixed(2)} s  (speed-up x${result.speedup.toFixed(2)}, ${os.availableParallelism()} cores)`)
  const items = (x: Record<string, number>) => Object.entries(x).map(([k, v]) => `${k.slice(5, -1)} ${v.toFixed(1)}`).join(", ")
  console.log(`  per item, in process: ${items(one.items)}`)
  console.log(`  per item, pooled:     ${items(pooled.items)}`)
  console.log(`  scores identical (top-1, per-class, k-NN): ${identical ? "yes" : "NO"}`)
}
if (!identical) process.exitCode = 1
