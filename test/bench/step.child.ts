/**
 * One measurement of test/bench/steps.bench.ts in a fresh process: a step
 * kind of stepKinds.ts (or `peak`, a 2048³ matmul) on the selected tfjs
 * backend, after one warm-up step, for at least `--seconds` and 2 steps.
 * Prints one JSON line: images/s, ms per step (wall and CPU time), matmul GFLOP/s, and the
 * process's peak RSS (MiB; the whole process, so this step's own high-water mark).
 *
 *   node --import tsx test/bench/step.child.ts --kind dino|mae|student|joint|vitb-forward|peak
 *        [--backend native] [--seconds S] [--batch N] [--teacher-width D] ... (stepKinds.ts StepShapes, kebab-case)
 */
import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import { backendFlag, describeBackend, selectBackend } from "../../runtime/backend/TensorBackend.ts"
import { nativeMatmulPrecision } from "../../runtime/backend/native/internal/register.ts"
import { buildStep, defaultShapes, type StepKind, type StepShapes, stepKinds } from "./stepKinds.ts"

const argv = process.argv.slice(2)
const option = (name: string): string | undefined => {
  const i = argv.indexOf(name)
  return i >= 0 ? argv[i + 1] : undefined
}
const kebab = (k: string): string => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`
/** The shapes from `--batch`, `--teacher-width`, ... (defaults where absent). */
export const shapesFromArgs = (args: ReadonlyArray<string>): StepShapes =>
  Object.fromEntries(Object.entries(defaultShapes).map(([k, v]) => {
    const i = args.indexOf(kebab(k))
    const n = i >= 0 ? Number(args[i + 1]) : v
    if (!(Number.isFinite(n) && n > 0)) throw new RangeError(`${kebab(k)} must be a positive number, got ${args[i + 1]}`)
    return [k, n]
  })) as unknown as StepShapes

const kind = option("--kind") ?? "student"
const seconds = Number(option("--seconds") ?? 3)

const measure = (run: () => void, images: number) => {
  run()
  let steps = 0
  const start = performance.now()
  const cpu = process.cpuUsage()
  while (performance.now() - start < seconds * 1000 || steps < 2) {
    run()
    steps++
  }
  const ms = (performance.now() - start) / steps
  const used = process.cpuUsage(cpu)
  // CPU time (every thread, user + system): on a loaded machine far steadier than wall time for one thread.
  return { steps, msPerStep: ms, cpuMsPerStep: (used.user + used.system) / 1000 / steps, imgPerSec: (images * 1000) / ms }
}

const main = Effect.gen(function*() {
  const backend = yield* selectBackend({ flag: backendFlag(argv), env: process.env["SSL_KD_BACKEND"] })
  const describe = describeBackend(backend)
  if (kind === "peak") {
    const n = 2048
    const a = tf.randomNormal([n, n], 0, 1, "float32", 1)
    const b = tf.randomNormal([n, n], 0, 1, "float32", 2)
    const m = measure(() => tf.tidy(() => void tf.matMul(a, b).dataSync()), 1)
    tf.dispose([a, b])
    return { describe, kind, ...m, gflops: (2 * n ** 3) / m.msPerStep / 1e6 }
  }
  if (!(stepKinds as ReadonlyArray<string>).includes(kind)) throw new RangeError(`--kind must be one of ${[...stepKinds, "peak"].join(", ")}, got ${kind}`)
  const shapes = shapesFromArgs(argv)
  const before = tf.memory().numTensors
  const step = buildStep(kind as StepKind, shapes)
  const m = measure(step.run, step.images)
  step.dispose()
  const leaked = tf.memory().numTensors - before
  return { describe, kind, ...m, flopsPerStep: step.flops, gflops: step.flops / m.msPerStep / 1e6, leakedTensors: leaked }
})

const r = await Effect.runPromise(main)
const out = {
  ...r,
  precision: nativeMatmulPrecision() ?? "f32",
  msPerStep: Number(r.msPerStep.toFixed(2)),
  cpuMsPerStep: Number(r.cpuMsPerStep.toFixed(2)),
  imgPerSec: Number(r.imgPerSec.toFixed(2)),
  gflops: Number(r.gflops.toFixed(1)),
  peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
}
console.log(JSON.stringify(out))
