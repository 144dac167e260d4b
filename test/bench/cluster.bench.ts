/**
 * Cluster mode (issue 14): what dispatching a stage to a runner costs, and
 * what more runners buy on a fan-out of real work.
 *
 * 1. Dispatch overhead per stage: a chain of `--chain` no-op stages (each
 *    depends on the previous one, so they run one after another), with fresh
 *    keys each round, run in process (local executor, no pool) and on a
 *    cluster of one runner; milliseconds per stage for each, median of
 *    `--rounds` rounds after one warm-up round. The difference is the
 *    cluster's overhead: workflow start, durable queue, the runner's check
 *    and pool worker, commit to the shared store, read-back.
 * 2. A 6-item evaluation (`paper/evaluate` of one student on 3 synthetic
 *    datasets x 2 settings of k-NN) on 1 runner and on 3 runners (one slot
 *    each), each on a fresh database and a copy of the store holding the
 *    trained student; wall seconds, speed-up, and whether the 6 results are
 *    identical.
 *
 *   node --import tsx test/bench/cluster.bench.ts [--json] [--small] [--backend wasm] [--chain 10] [--rounds 3]
 *   npm run bench -- --only cluster [--small]
 *
 * Starts a throw-away PostgreSQL (test/runtime/cluster/postgres.ts) and the
 * runners as `ssl-kd runner` processes of this checkout; skipped (exit 0,
 * saying why) where PostgreSQL is not installed. `--small` shrinks the
 * student and the evaluation sets for a quick check that the bench works.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Effect, Layer } from "effect"
import { Pipeline } from "../../dsl/index.ts"
import { trainStudent } from "../../plugins/stages/paper/baselines.ts"
import { evaluate } from "../../plugins/stages/paper/downstream.ts"
import { TensorBackend } from "../../runtime/backend/TensorBackend.ts"
import { layerCluster } from "../../runtime/cluster/ClusterExecutor.ts"
import { Executor, layerLocal } from "../../runtime/executor/Executor.ts"
import { layerSilent } from "../../runtime/progress/Progress.ts"
import { findPostgres, startPostgres } from "../runtime/cluster/postgres.ts"
import { chainHead, chainLink } from "./clusterStages.ts"

const argv = process.argv.slice(2)
const json = argv.includes("--json")
const small = argv.includes("--small")
const flag = (name: string) => {
  const at = argv.indexOf(name)
  return at >= 0 ? argv[at + 1] : undefined
}
const backend = flag("--backend") ?? process.env["SSL_KD_BACKEND"] ?? "wasm"
const chainLength = Math.max(2, Number(flag("--chain") ?? 10))
const rounds = Math.max(1, Number(flag("--rounds") ?? (small ? 1 : 3)))
const REPO = fileURLToPath(new URL("../../", import.meta.url))
const BIN = path.join(REPO, "bin", "ssl-kd.js")

const say = (line: string) => {
  if (!json) console.log(line)
}
const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const found = findPostgres()
if ("missing" in found) {
  if (json) console.log(JSON.stringify({ bench: "cluster", skipped: found.missing }))
  else console.log(`cluster bench skipped: ${found.missing}`)
  process.exit(0)
}

// ---- the pipelines ------------------------------------------------------
const chain = (salt: string) => {
  // built in a loop: the builder's node-name types are not needed here
  let b: any = Pipeline.make("bench-cluster-chain").stage("n0", chainHead, { config: { salt } })
  for (let i = 1; i < chainLength; i++) b = b.stage(`n${i}`, chainLink, { config: { salt }, inputs: { x: `n${i - 1}` } })
  return b.build() as Pipeline.Pipeline<any>
}

const student = { dataset: "synthetic-shapes", trainCount: small ? 128 : 512, epochs: 1, batchSize: 64, student: { arch: "vitMicroPatch7_28", embedDim: small ? 48 : 96, depth: small ? 2 : 4, numHeads: 3 } }
const evalCount = small ? { trainCount: 200, testCount: 100 } : { trainCount: 1500, testCount: 500 }
const evalItems = Object.fromEntries(
  ["synthetic-shapes", "synthetic-textures", "synthetic-counting"].flatMap((dataset) => [10, 20].map((k) => [`${dataset.slice(10)}-k${k}`, { dataset, k, ...evalCount }])),
)
const studentOnly = Pipeline.make("bench-cluster-eval").stage("student", trainStudent, { config: student }).build()
const evaluation = Pipeline.make("bench-cluster-eval")
  .stage("student", trainStudent, { config: student })
  .fanOut("eval", evaluate, { inputs: { model: "student" }, over: evalItems })
  .build()

// ---- processes ----------------------------------------------------------
interface Runner {
  readonly child: ChildProcess
  out: string
  readonly exited: Promise<unknown>
}
const startRunner = (url: string, store: string): Runner => {
  const child = spawn(process.execPath, [BIN, "runner", "--cluster", url, "--slots", "cpu=1", "--cache-dir", store, "--backend", backend], { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] })
  const r: Runner = { child, out: "", exited: new Promise((resolve) => child.once("exit", resolve)) }
  child.stdout!.on("data", (d: Buffer) => (r.out += d.toString()))
  child.stderr!.on("data", (d: Buffer) => (r.out += d.toString()))
  return r
}
const stopRunners = async (runners: ReadonlyArray<Runner>) => {
  for (const r of runners) if (r.child.exitCode === null) r.child.kill("SIGTERM")
  await Promise.all(runners.map((r) => Promise.race([r.exited, new Promise((res) => setTimeout(res, 10_000))])))
  for (const r of runners) if (r.child.exitCode === null) r.child.kill("SIGKILL")
}
const joined = async (runners: ReadonlyArray<Runner>) => {
  const deadline = Date.now() + 120_000
  while (!runners.every((r) => r.out.includes("Listening on"))) {
    if (Date.now() > deadline) throw new Error(`runners did not join:\n${runners.map((r) => r.out).join("\n---\n")}`)
    await new Promise((res) => setTimeout(res, 200))
  }
  // their pool workers and stage-check threads start with them: let them finish starting
  await new Promise((res) => setTimeout(res, small ? 3000 : 10_000))
}

const run = (layer: Layer.Layer<Executor>, pipeline: Pipeline.Pipeline<any>, local: boolean) =>
  Effect.runPromise(
    Executor.use((e) => e.run(pipeline, local ? { stageServices: TensorBackend.layer({ flag: backend }) } : {})).pipe(Effect.provide(layer), Effect.scoped),
  ).then((r) => {
    if (!r.ok) throw new Error(`${pipeline.name} failed: ${JSON.stringify(r.stages.filter((s) => s.status === "failed"))}`)
    return r
  })
const timed = async <A>(f: () => Promise<A>) => {
  const t0 = performance.now()
  const value = await f()
  return { value, ms: performance.now() - t0 }
}

const pg = await startPostgres()
const work = await fs.mkdtemp(path.join(os.tmpdir(), "ssl-kd-bench-cluster-"))
const runners: Array<Runner> = []
try {
  const psql = path.join(found.bin, "psql")
  const database = (name: string) => {
    const r = spawnSync(psql, [pg.url, "-c", `CREATE DATABASE ${name}`], { encoding: "utf8" })
    if (r.status !== 0) throw new Error(`CREATE DATABASE ${name}: ${r.stderr}`)
    return pg.url.replace(/\/postgres$/, `/${name}`)
  }

  // ---- 1. dispatch overhead ----
  const localStore = path.join(work, "local")
  const localLayer = layerLocal({ cacheDir: localStore, workers: 1 }).pipe(Layer.provide(layerSilent))
  const chainUrl = database("chain")
  const chainStore = path.join(work, "chain")
  runners.push(startRunner(chainUrl, chainStore))
  await joined(runners)
  const clusterLayer = layerCluster({ cacheDir: chainStore, workers: 1, url: chainUrl, projectRoot: REPO }).pipe(Layer.provide(layerSilent))
  const perStage = async (layer: Layer.Layer<Executor>, local: boolean, label: string) => {
    const ms: Array<number> = []
    for (let i = 0; i <= rounds; i++) {
      const t = await timed(() => run(layer, chain(`${label}-${i}-${Date.now()}`), local))
      if (t.value.stages.some((s) => s.status !== "ran")) throw new Error(`${label}: a chain stage did not run`)
      if (i > 0) ms.push(t.ms / chainLength) // round 0 warms up (fingerprints, modules, the runner's worker)
    }
    return median(ms)
  }
  say(`dispatch overhead: a chain of ${chainLength} no-op stages, median of ${rounds} round(s)`)
  const localMs = await perStage(localLayer, true, "local")
  say(`  in process:          ${localMs.toFixed(1)} ms per stage`)
  const clusterMs = await perStage(clusterLayer, false, "cluster")
  say(`  cluster, 1 runner:   ${clusterMs.toFixed(1)} ms per stage (overhead ${(clusterMs - localMs).toFixed(1)} ms)`)
  await stopRunners(runners.splice(0))

  // ---- 2. a 6-item evaluation on 1 and 3 runners ----
  say(`evaluation: ${Object.keys(evalItems).length} items of paper/evaluate (${Object.keys(evalItems).join(", ")}), backend ${backend}${small ? " (--small)" : ""}`)
  const base = path.join(work, "base")
  const trained = await timed(() => run(layerLocal({ cacheDir: base, workers: 1 }).pipe(Layer.provide(layerSilent)), studentOnly, true))
  say(`  student trained in process (untimed setup): ${(trained.ms / 1000).toFixed(1)} s`)
  const evalOn = async (n: number) => {
    const store = path.join(work, `eval-${n}`)
    await fs.cp(base, store, { recursive: true })
    const url = database(`eval${n}`)
    for (let i = 0; i < n; i++) runners.push(startRunner(url, store))
    await joined(runners)
    const t = await timed(() => run(layerCluster({ cacheDir: store, workers: 1, url, projectRoot: REPO }).pipe(Layer.provide(layerSilent)), evaluation, false))
    const ran = t.value.stages.filter((s) => s.name.startsWith("eval["))
    if (ran.length !== 6 || ran.some((s) => s.status !== "ran")) throw new Error(`evaluation on ${n} runner(s): not every item ran: ${JSON.stringify(ran)}`)
    const where = new Set(runners.flatMap((r) => [...r.out.matchAll(/runner: (eval\[[^\]]+\]) \([0-9a-f]+\) ran in/g)].map(() => r.child.pid)))
    await stopRunners(runners.splice(0))
    // the scores, without timing fields
    const scores: Record<string, unknown> = {}
    for (const f of (await fs.readdir(path.join(store, "entries"), { recursive: true })).filter((x) => x.endsWith("manifest.json"))) {
      const manifest = JSON.parse(await fs.readFile(path.join(store, "entries", f), "utf8")) as { node: string }
      if (!manifest.node.startsWith("eval[")) continue
      const value = JSON.parse(await fs.readFile(path.join(store, "entries", path.dirname(f), "payload", "value.json"), "utf8")) as Record<string, unknown>
      const { seconds: _s, trainingSeconds: _t, ...rest } = value
      scores[manifest.node] = rest
    }
    return { seconds: t.ms / 1000, runnersUsed: where.size, scores }
  }
  const one = await evalOn(1)
  say(`  1 runner:  ${one.seconds.toFixed(1)} s`)
  const three = await evalOn(3)
  say(`  3 runners: ${three.seconds.toFixed(1)} s (speed-up x${(one.seconds / three.seconds).toFixed(2)}, items spread over ${three.runnersUsed} runners, ${os.availableParallelism()} cores)`)
  const sorted = (x: Record<string, unknown>) => JSON.stringify(Object.entries(x).sort())
  const identical = Object.keys(one.scores).length === 6 && sorted(one.scores) === sorted(three.scores)
  say(`  the 6 results identical on 1 and 3 runners: ${identical ? "yes" : "NO"}`)
  if (json) {
    console.log(
      JSON.stringify({
        bench: "cluster",
        backend,
        small,
        chainStages: chainLength,
        rounds,
        localMsPerStage: localMs,
        clusterMsPerStage: clusterMs,
        dispatchOverheadMs: clusterMs - localMs,
        evalItems: Object.keys(evalItems),
        evalOneRunnerSeconds: one.seconds,
        evalThreeRunnersSeconds: three.seconds,
        evalSpeedup: one.seconds / three.seconds,
        evalRunnersUsed: three.runnersUsed,
        identicalScores: identical,
        cpus: os.availableParallelism(),
      }),
    )
  }
  if (!identical) process.exitCode = 1
} finally {
  await stopRunners(runners)
  await pg.stop()
  await fs.rm(work, { recursive: true, force: true })
}
