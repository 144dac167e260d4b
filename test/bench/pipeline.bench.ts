/**
 * Runtime overhead of the pipeline engine on a 20-stage pipeline whose stages
 * do no work: the no-op rerun time (every stage cached; target under 1 s),
 * in-process and through the `ssl-kd` binary (process start included), and
 * the code-fingerprint time per stage, cold (ts-morph parse and closure) and
 * memoized (file hashes only).
 *
 *   node --import tsx test/bench/pipeline.bench.ts [--json] [--repeat N]
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { Effect, Layer } from "effect"
import type { Pipeline } from "../../dsl/Pipeline.ts"
import type { AnyStage } from "../../dsl/Stage.ts"
import { Executor, layerLocal } from "../../runtime/executor/Executor.ts"
import { makeFingerprinter } from "../../runtime/fingerprint/Fingerprint.ts"
import { layerSilent } from "../../runtime/progress/Progress.ts"

const argv = process.argv.slice(2)
const json = argv.includes("--json")
const repeatAt = argv.indexOf("--repeat")
const repeat = repeatAt >= 0 ? Math.max(1, Number(argv[repeatAt + 1])) : 5
const REPO = fileURLToPath(new URL("../../", import.meta.url))
const STAGES = 20

/** A project of 20 stages, each in its own file with its own helper: a chain with a fan-in. */
const writeProject = async (dir: string) => {
  await fs.mkdir(path.join(dir, "stages"), { recursive: true })
  for (let i = 0; i < STAGES; i++) {
    await fs.writeFile(
      path.join(dir, "stages", `s${i}.ts`),
      `import { Effect, Schema } from "effect"
import { Artifact, Config, Stage } from "../../../../dsl/index.ts"
export const Value = Artifact.json("Value", Schema.Finite)
/** Helper reached only by stage ${i}. */
export const step${i} = (x: number, k: number): number => x * 1.0001 + k + ${i}
export const stage${i} = Stage.make({
  name: "bench/s${i}",
  config: Schema.Struct({ k: Config.withDefault(Schema.Finite, ${i}) }),
  inputs: ${i === 0 ? "{}" : "{ x: Value }"},
  output: Value,
  run: ({ config${i === 0 ? "" : ", inputs"} }) => Effect.succeed(step${i}(${i === 0 ? "1" : "inputs.x"}, config.k)),
})
`,
    )
  }
  const imports = Array.from({ length: STAGES }, (_, i) => `import { stage${i} } from "./stages/s${i}.ts"`).join("\n")
  const chain = Array.from({ length: STAGES }, (_, i) =>
    i === 0 ? `  .stage("n0", stage0, {})` : `  .stage("n${i}", stage${i}, { inputs: { x: "n${i % 4 === 0 ? 0 : i - 1}" } })`,
  ).join("\n")
  await fs.writeFile(path.join(dir, "pipeline.ts"), `import { Pipeline } from "../../../dsl/index.ts"\n${imports}\nexport default Pipeline.make("bench20")\n${chain}\n  .build()\n`)
}

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const main = async () => {
  const t0 = performance.now()
  await import("ts-morph")
  const tsMorphLoadMs = performance.now() - t0
  const dir = path.join(REPO, "test", ".tmp", `bench-pipeline-${process.pid}`)
  await fs.rm(dir, { recursive: true, force: true })
  await writeProject(dir)
  const cacheDir = path.join(dir, ".ssl-kd")
  const pipeline = (await import(pathToFileURL(path.join(dir, "pipeline.ts")).href)).default as Pipeline<never>
  const layer = () => layerLocal({ cacheDir, workers: 2 }).pipe(Layer.provide(layerSilent))
  const runOnce = async () => {
    const t0 = performance.now()
    const report = await Effect.runPromise(Executor.use((e) => e.run(pipeline)).pipe(Effect.provide(layer())))
    return { ms: performance.now() - t0, statuses: report.stages.map((s) => s.status) }
  }

  const cold = await runOnce()
  if (cold.statuses.some((s) => s !== "ran")) throw new Error(`cold run: expected every stage to run, got ${cold.statuses.join(",")}`)
  const warm: Array<number> = []
  for (let i = 0; i < repeat; i++) {
    const r = await runOnce()
    if (r.statuses.some((s) => s !== "cached")) throw new Error(`no-op rerun: expected every stage cached, got ${r.statuses.join(",")}`)
    warm.push(r.ms)
  }

  const cli: Array<number> = []
  for (let i = 0; i < Math.min(repeat, 3); i++) {
    const t0 = performance.now()
    const r = spawnSync(process.execPath, [path.join(REPO, "bin", "ssl-kd.js"), "run", "pipeline.ts", "--json", "--cache-dir", cacheDir], { cwd: dir, encoding: "utf8" })
    cli.push(performance.now() - t0)
    if (r.status !== 0 || !r.stdout.includes('"status":"cached"') || r.stdout.includes('"status":"ran"')) throw new Error(`CLI no-op rerun failed: ${r.stderr}`)
  }

  // Fingerprints: cold = fresh fingerprinter without memo (first stage also loads ts-morph).
  const stages = pipeline.nodes.map((n) => n.stage as AnyStage)
  const coldFp = makeFingerprinter(undefined)
  const coldMs: Array<number> = []
  for (const s of stages) coldMs.push((await Effect.runPromise(coldFp.fingerprint(s))).millis)
  const memoFile = path.join(dir, "memo.json")
  const seed = makeFingerprinter(memoFile)
  for (const s of stages) await Effect.runPromise(seed.fingerprint(s))
  await Effect.runPromise(seed.flush)
  const memoFp = makeFingerprinter(memoFile)
  const memoMs: Array<number> = []
  for (const s of stages) {
    const r = await Effect.runPromise(memoFp.fingerprint(s))
    if (!r.fromMemo) throw new Error("expected a memo hit")
    memoMs.push(r.millis)
  }
  await fs.rm(dir, { recursive: true, force: true })

  const report = {
    bench: "pipeline",
    stages: STAGES,
    coldRunMs: Math.round(cold.ms),
    noopRerunMs: Math.round(median(warm)),
    noopRerunCliMs: Math.round(median(cli)),
    tsMorphLoadMs: Math.round(tsMorphLoadMs),
    fingerprintColdFirstStageMs: Math.round(coldMs[0]!),
    fingerprintColdPerStageMs: Number(median(coldMs.slice(1)).toFixed(2)),
    fingerprintMemoPerStageMs: Number(median(memoMs).toFixed(3)),
    targetNoopRerunMs: 1000,
  }
  if (json) console.log(JSON.stringify(report))
  else {
    console.log(`pipeline engine, ${STAGES} stages that do no work (median of ${repeat}):`)
    console.log(`  cold run (all stages run, fingerprints computed)  ${report.coldRunMs} ms`)
    console.log(`  no-op rerun, in process                           ${report.noopRerunMs} ms  (target < 1000 ms)`)
    console.log(`  no-op rerun, \`ssl-kd run\` process end to end      ${report.noopRerunCliMs} ms`)
    console.log(`  loading ts-morph (only on a fingerprint memo miss) ${report.tsMorphLoadMs} ms`)
    console.log(`  fingerprint, cold: first stage (parses the DSL)   ${report.fingerprintColdFirstStageMs} ms`)
    console.log(`  fingerprint, cold: per further stage              ${report.fingerprintColdPerStageMs} ms`)
    console.log(`  fingerprint, memoized by file content, per stage  ${report.fingerprintMemoPerStageMs} ms`)
  }
}

await main()
