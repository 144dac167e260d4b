/**
 * Input-pipeline benchmark: load time of Fashion-MNIST train, and batches/s of
 * the training loader (batch 64) with each augmentation: plain resize,
 * random resized crop + flip + normalization at 28 px, DINO multi-crop
 * (2 x 28 + 6 x 12) and MAE masking (28 px, patch 4, ratio 0.75).
 * Falls back to synthetic-shapes (and says so) when Fashion-MNIST is absent.
 *
 *   node --import tsx test/bench/datasets.bench.ts [--json] [--batches N]
 */
import { Effect } from "effect"
import {
  type Augmentation,
  makeDefaultRegistry,
  makeLoader,
  masked,
  multiCrop,
  randomCrop,
  resize,
} from "../../plugins/datasets/index.ts"

const argv = process.argv.slice(2)
const json = argv.includes("--json")
const nIdx = argv.indexOf("--batches")
const maxBatches = nIdx >= 0 ? Number(argv[nIdx + 1]) : 300

const program = Effect.gen(function* () {
  const registry = makeDefaultRegistry()
  const t0 = performance.now()
  const real = yield* Effect.result(registry.resolve("fashion-mnist", { split: "train" }))
  const spec = real._tag === "Success" ? real.success : yield* registry.resolve("synthetic-shapes", { split: "train" })
  const set = yield* registry.load(spec)
  const loadMs = performance.now() - t0
  const cases: ReadonlyArray<readonly [string, Augmentation]> = [
    ["resize-28", resize()],
    ["random-crop-28+flip", randomCrop({ size: 28 })],
    ["dino-multi-crop-2x28+6x12", multiCrop({ globalSize: 28, localSize: 12, localCrops: 6 })],
    ["mae-mask-28-p4-0.75", masked({ size: 28, patchSize: 4 })],
  ]
  const results: Array<{ name: string; batches: number; images: number; seconds: number; batchesPerSec: number; imagesPerSec: number }> = []
  for (const [name, augmentation] of cases) {
    const loader = yield* makeLoader(set, { batchSize: 64, normalization: spec.normalization, augmentation, seed: 1, prefetch: 4 })
    const run = () =>
      Effect.promise(async () => {
        const start = performance.now()
        let batches = 0
        let images = 0
        for await (const b of loader.epoch(0)) {
          batches++
          images += b.labels.length
          if (batches >= maxBatches) break
        }
        return { batches, images, seconds: (performance.now() - start) / 1000 }
      })
    yield* Effect.promise(async () => {
      // warm-up: a few batches so the JIT has compiled the hot loops
      const it = loader.epoch(99)
      for (let k = 0; k < 5; k++) await it.next()
      await it.return?.()
    })
    const r = yield* run()
    results.push({ name, ...r, batchesPerSec: r.batches / r.seconds, imagesPerSec: r.images / r.seconds })
  }
  return { dataset: spec.name, split: spec.split, count: set.count, loadSeconds: loadMs / 1000, batchSize: 64, results }
})

const report = await Effect.runPromise(program)
if (json) console.log(JSON.stringify({ bench: "datasets", node: process.version, ...report }))
else {
  console.log(`datasets bench: ${report.dataset}/${report.split} (${report.count} images) loaded in ${report.loadSeconds.toFixed(2)} s`)
  for (const r of report.results)
    console.log(`  ${r.name.padEnd(28)} ${r.batchesPerSec.toFixed(1).padStart(8)} batches/s  ${r.imagesPerSec.toFixed(0).padStart(7)} img/s  (${r.batches} batches of ${report.batchSize})`)
}
