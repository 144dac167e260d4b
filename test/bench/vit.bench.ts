/**
 * Throughput of ViT-Ti (width 192, 12 blocks, 3 heads) on 28 px images in
 * 4 px patches: forward (inference) and train-step (forward, cross-entropy,
 * backward, AdamW update: the project's plugins/training/adamw.ts with
 * PyTorch's defaults, lr 1e-4, weight decay 0.01, as test/bench/torch_vit.py)
 * images per second on the selected tensor backend.
 *
 *   node --import tsx test/bench/vit.bench.ts [--json] [--backend NAME] [--batch N] [--seconds S]
 */
import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import { disposeVit, forward, models } from "../../plugins/models/index.ts"
import { AdamW } from "../../plugins/training/adamw.ts"
import { backendFlag, describeBackend, selectBackend } from "../../runtime/backend/TensorBackend.ts"

const argv = process.argv.slice(2)
const option = (name: string, fallback: number): number => {
  const i = argv.indexOf(name)
  const v = i >= 0 ? Number(argv[i + 1]) : fallback
  return Number.isFinite(v) && v > 0 ? v : fallback
}
const json = argv.includes("--json")
const batch = option("--batch", 32)
const seconds = option("--seconds", 3)
const arch = "vitTinyPatch4_28"

/** Runs `step` (after one warm-up) until `seconds` pass; images per second. */
const measure = (step: () => void): { imgPerSec: number; steps: number } => {
  step()
  let steps = 0
  const start = performance.now()
  while (performance.now() - start < seconds * 1000 || steps < 2) {
    step()
    steps++
  }
  return { imgPerSec: (steps * batch) / ((performance.now() - start) / 1000), steps }
}

const main = Effect.gen(function*() {
  const backend = yield* selectBackend({ flag: backendFlag(argv), env: process.env["SSL_KD_BACKEND"] })
  if (!json) console.error(describeBackend(backend))
  const model = yield* models.create(arch, { seed: 0 })
  const c = model.config
  const images = tf.randomNormal([batch, c.inChans, c.imgSize, c.imgSize], 0, 1, "float32", 1)
  const labels = tf.oneHot(tf.randomUniform([batch], 0, c.numClasses, "int32", 2), c.numClasses)
  const optimizer = new AdamW(model.params)
  const vars = [...model.params.values()]
  const names = new Map([...model.params].map(([name, p]) => [p.name, name]))

  const fwd = measure(() => tf.tidy(() => void forward(model, images).dataSync()))
  const train = measure(() =>
    tf.tidy(() => {
      const { value: loss, grads } = tf.variableGrads(
        () => tf.neg(tf.mean<tf.Scalar>(tf.sum(tf.mul(labels, tf.logSoftmax(forward(model, images))), -1))),
        vars,
      )
      optimizer.step(new Map(Object.entries(grads).map(([v, g]) => [names.get(v) ?? v, g])), 1e-4, 0.01)
      loss.dataSync()
    })
  )
  optimizer.dispose()
  tf.dispose([images, labels])
  disposeVit(model)
  return { backend, fwd, train }
})

const { backend, fwd, train } = await Effect.runPromise(main)
const result = {
  bench: "vit",
  arch,
  backend: backend.name,
  backendVersion: backend.version,
  backendDetail: backend.detail,
  batch,
  forwardImgPerSec: Number(fwd.imgPerSec.toFixed(1)),
  trainStepImgPerSec: Number(train.imgPerSec.toFixed(1)),
}
if (json) console.log(JSON.stringify(result))
else {
  console.log(`${arch} batch ${batch} on ${backend.name}: forward ${result.forwardImgPerSec} img/s (${fwd.steps} steps), ` +
    `train step ${result.trainStepImgPerSec} img/s (${train.steps} steps)`)
}
