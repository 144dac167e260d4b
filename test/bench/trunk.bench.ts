/**
 * Partial-1 adaptation with and without the cached frozen trunk (issue 7):
 * a demo-shaped teacher (vitMicroPatch7_28, width 96, 4 blocks, 3 heads,
 * random init: the weights do not change the time) adapted on 3000
 * Fashion-MNIST training images (synthetic-shapes when Fashion-MNIST is not
 * installed), 2 epochs, batch 64, on the wasm backend by default:
 *
 * - uncached: `paper/adapt-teacher` mode `partial-1` (the demo's augmented
 *   recipe: crop scale 0.5-1 + flip), every step runs all 4 blocks;
 * - cached: `paper/trunk-features` (blocks 0-2 once over the 3000 images)
 *   then `paper/adapt-teacher-cached` (block 3 + norm + head per step).
 *
 * Prints both times, the speed-up of trunk + training, and that of training
 * alone (a rerun or another recipe, with the trunk served from the cache).
 *
 *   node --import tsx test/bench/trunk.bench.ts [--json] [--backend wasm]
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { Effect } from "effect"
import { adaptTeacher } from "../../plugins/stages/paper/adapt.ts"
import { adaptTeacherCached, trunkFeatures } from "../../plugins/stages/paper/trunk.ts"
import { randomTeacher } from "../../plugins/stages/teachers/load.ts"
import { runStage } from "../plugins/teachers/stageHarness.ts"

const argv = process.argv.slice(2)
const json = argv.includes("--json")
const at = argv.indexOf("--backend")
const backend = (at >= 0 ? argv[at + 1] : undefined) ?? process.env.SSL_KD_BACKEND ?? "wasm"
// The stage harness reads it at each run.
process.env.SSL_KD_BACKEND = backend

const fmnist = await fs.access("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").then(() => true, () => process.env.SSL_KD_DATA_DIR !== undefined)
const dataset = fmnist ? "fashion-mnist" : "synthetic-shapes"
const images = 3000
const recipe = { dataset, trainCount: images, epochs: 2, batchSize: 64, lr: 1e-3, warmupEpochs: 0, weightDecay: 0.05, seed: 0 }
const scratch = await fs.mkdtemp(path.join(os.tmpdir(), "ssl-kd-bench-trunk-"))
let runs = 0
const dir = async () => fs.mkdtemp(path.join(scratch, `${runs++}-`))

const timed = async <A>(f: () => Promise<A>) => {
  const t0 = performance.now()
  const value = await f()
  return { value, seconds: (performance.now() - t0) / 1000 }
}

const teacher = await Effect.runPromise(
  runStage(randomTeacher, { teacher: "dino", dataset, arch: "vitMicroPatch7_28", embedDim: 96, depth: 4, numHeads: 3, seed: 0 }, {}, { scratchDir: await dir() }),
)
// Warm-up (backend start, kernels, dataset decode), untimed.
await Effect.runPromise(runStage(adaptTeacher, { ...recipe, trainCount: 128, epochs: 1, mode: "partial-1" }, { teacher }, { scratchDir: await dir() }))

const uncached = await timed(async () =>
  Effect.runPromise(runStage(adaptTeacher, { ...recipe, mode: "partial-1", cropScaleMin: 0.5, flip: 0.5 }, { teacher }, { scratchDir: await dir() })),
)
const trunk = await timed(async () => Effect.runPromise(runStage(trunkFeatures, { dataset, trainCount: images, k: 1, batchSize: 64 }, { teacher }, { scratchDir: await dir() })))
const cached = await timed(async () => Effect.runPromise(runStage(adaptTeacherCached, { ...recipe, k: 1 }, { teacher, trunk: trunk.value }, { scratchDir: await dir() })))
await fs.rm(scratch, { recursive: true, force: true })

const result = {
  bench: "trunk",
  backend,
  dataset,
  images,
  epochs: recipe.epochs,
  teacher: "vitMicroPatch7_28 width 96, depth 4, 3 heads",
  trainable: cached.value.adaptation.trainable,
  uncachedSeconds: uncached.seconds,
  trunkSeconds: trunk.seconds,
  cachedTrainSeconds: cached.seconds,
  cachedSeconds: trunk.seconds + cached.seconds,
  speedup: uncached.seconds / (trunk.seconds + cached.seconds),
  speedupTrunkCached: uncached.seconds / cached.seconds,
  trunkMiB: (trunk.value.tokens.byteLength / 2 ** 20),
  uncachedTrainTop1: uncached.value.adaptation.trainAccuracy,
  cachedTrainTop1: cached.value.adaptation.trainAccuracy,
  cpus: os.availableParallelism(),
}
if (json) console.log(JSON.stringify(result))
else {
  console.log(`trunk bench (${backend}): Partial-1 of a ${result.teacher} teacher, ${images} ${dataset} images, ${recipe.epochs} epochs, batch ${recipe.batchSize}`)
  console.log(`  uncached (paper/adapt-teacher, augmented):       ${uncached.seconds.toFixed(2)} s`)
  console.log(`  cached: trunk (paper/trunk-features, 3 blocks):  ${trunk.seconds.toFixed(2)} s  (${result.trunkMiB.toFixed(1)} MiB of tokens)`)
  console.log(`          training (paper/adapt-teacher-cached):   ${cached.seconds.toFixed(2)} s`)
  console.log(`          together:                                ${result.cachedSeconds.toFixed(2)} s  (speed-up x${result.speedup.toFixed(2)})`)
  console.log(`  trunk served from the cache (rerun, other recipe): speed-up x${result.speedupTrunkCached.toFixed(2)}`)
  console.log(`  train top-1: uncached ${(result.uncachedTrainTop1 * 100).toFixed(1)} %, cached (no augmentation) ${(result.cachedTrainTop1 * 100).toFixed(1)} %`)
}
