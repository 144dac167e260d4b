/**
 * Throughput at the reproduction's shapes (issue 11; `pipelines/teachers.ts`
 * preset `repro`, 7x7 grid): images per second of one DINO pretraining step
 * (loader with 2 global + 6 local crops, teacher and student passes, head,
 * loss, backward, AdamW, center, EMA), one MAE step (masked loader, encoder
 * on the visible 25 %, decoder, loss, backward, AdamW), the teacher's
 * inference forward at batch 256, and a student (vitNanoPatch4_28)
 * cross-entropy train step, each on the selected backend; Fashion-MNIST's
 * first images as data. Prints `uptime` load beside the numbers: on a shared
 * machine they are only as good as that load.
 *
 *   node --import tsx test/bench/teachers.bench.ts [--json] [--backend NAME] [--seconds S]
 */
import { execFileSync } from "node:child_process"
import * as tf from "@tensorflow/tfjs-core"
import { Effect, Schema } from "effect"
import reproTeachers from "../../pipelines/teachers.ts"
import { multiCrop, masked } from "../../plugins/datasets/augment/augmentation.ts"
import { makeLoader } from "../../plugins/datasets/loader.ts"
import { disposeVit, forward, forwardFeatures, forwardHead, models } from "../../plugins/models/index.ts"
import { cosineSchedule, dinoLrSchedule, teacherMomentumSchedule, teacherTempSchedule } from "../../plugins/objectives/schedules.ts"
import { loadSplit } from "../../plugins/datasets/splits.ts"
import { DinoPretrainConfig } from "../../plugins/teachers/dino/config.ts"
import { createDinoNetworks, disposeDinoNetworks } from "../../plugins/teachers/dino/networks.ts"
import { dinoStep } from "../../plugins/teachers/dino/step.ts"
import { MaePretrainConfig } from "../../plugins/teachers/mae/config.ts"
import { createMaeNetworks, disposeMaeNetworks } from "../../plugins/teachers/mae/networks.ts"
import { maeStep } from "../../plugins/teachers/mae/step.ts"
import { trainingConfig } from "../../plugins/teachers/pretrainFields.ts"
import { resolveArch } from "../../plugins/teachers/architecture.ts"
import { AdamW } from "../../plugins/training/adamw.ts"
import { backendFlag, describeBackend, selectBackend } from "../../runtime/backend/TensorBackend.ts"

const argv = process.argv.slice(2)
const json = argv.includes("--json")
const secondsAt = argv.indexOf("--seconds")
const seconds = secondsAt >= 0 ? Number(argv[secondsAt + 1]) : 20
const uptime = (): string => execFileSync("uptime", { encoding: "utf8" }).trim()

/**
 * Runs `step(i)` (after one warm-up) until `seconds` pass: images per wall
 * second, and per CPU second of this process (user + system, all threads),
 * which a loaded machine disturbs less.
 */
const measure = (batch: number, step: (i: number) => void): { imgPerSec: number; imgPerCpuSec: number; steps: number } => {
  step(0)
  let steps = 0
  const cpu = process.cpuUsage()
  const start = performance.now()
  while (performance.now() - start < seconds * 1000 || steps < 2) step(++steps)
  const used = process.cpuUsage(cpu)
  const wall = (performance.now() - start) / 1000
  const round = (x: number) => Number(x.toFixed(1))
  const r = { imgPerSec: round((steps * batch) / wall), imgPerCpuSec: round((steps * batch) / ((used.user + used.system) / 1e6)), steps }
  if (!json) console.error(JSON.stringify(r), uptime())
  return r
}

const presetConfig = (name: string): Record<string, unknown> => ({ ...(reproTeachers.presets["repro"]?.[name] ?? {}) })

const main = Effect.gen(function* () {
  const backend = yield* selectBackend({ flag: backendFlag(argv), env: process.env["SSL_KD_BACKEND"] })
  if (!json) console.error(describeBackend(backend))
  const dinoC = Schema.decodeUnknownSync(DinoPretrainConfig)({ ...presetConfig("dino"), trainCount: 4096 })
  const maeC = Schema.decodeUnknownSync(MaePretrainConfig)({ ...presetConfig("mae"), trainCount: 4096 })
  const { spec, set } = yield* loadSplit("fashion-mnist", "train", 4096)
  const out: Record<string, unknown> = { loadBefore: uptime() }

  {
    const { arch, config } = yield* resolveArch("vitMiniPatch4_28", dinoC, set.channels)
    const vit = trainingConfig(config)
    const loader = yield* makeLoader(set, {
      batchSize: dinoC.batchSize, normalization: spec.normalization, seed: 0, dropLast: true,
      augmentation: multiCrop({ globalSize: vit.imgSize, globalScale: [dinoC.globalScaleMin, 1], localSize: dinoC.localSize, localScale: [dinoC.localScaleMin, dinoC.localScaleMax], localCrops: dinoC.localCrops, jitter: dinoC.colorJitter, solarize: dinoC.solarize }),
    })
    const it = loader.batchesPerEpoch
    const s = {
      lr: dinoLrSchedule({ lr: dinoC.lr, batchSize: dinoC.batchSize, epochs: 2, itersPerEpoch: it, warmupEpochs: 1 }),
      weightDecay: cosineSchedule({ base: 0.04, final: 0.4, epochs: 2, itersPerEpoch: it }),
      momentum: teacherMomentumSchedule({ epochs: 2, itersPerEpoch: it }),
      teacherTemp: teacherTempSchedule({ warmupTemp: 0.04, temp: 0.07, warmupEpochs: 1, epochs: 2 }),
    }
    const n = createDinoNetworks(arch, vit, dinoC)
    out["dinoStepImgPerSec"] = measure(dinoC.batchSize, (i) => void dinoStep(n, dinoC, loader.batch(1, i % it).views, 1, it + (i % it), s))
    disposeDinoNetworks(n)
  }
  {
    const { arch, config } = yield* resolveArch("vitMiniPatch4_28", maeC, set.channels)
    const vit = trainingConfig(config)
    const loader = yield* makeLoader(set, {
      batchSize: maeC.batchSize, normalization: spec.normalization, seed: 0, dropLast: true,
      augmentation: masked({ size: vit.imgSize, patchSize: vit.patchSize, maskRatio: maeC.maskRatio, scale: [maeC.cropScaleMin, 1] }),
    })
    const it = loader.batchesPerEpoch
    const lr = cosineSchedule({ base: 1e-4, final: 0, epochs: 1, itersPerEpoch: it })
    const n = createMaeNetworks(arch, vit, maeC)
    out["maeStepImgPerSec"] = measure(maeC.batchSize, (i) => void maeStep(n, maeC, loader.batch(0, i % it), i % it, lr))
    disposeMaeNetworks(n)
  }
  {
    const teacher = yield* models.create("vitMiniPatch4_28", { numClasses: 0, inChans: 1, seed: 0 })
    const images = tf.randomNormal([256, 1, 28, 28], 0, 1, "float32", 1)
    out["teacherForwardB256ImgPerSec"] = measure(256, () => tf.tidy(() => void forwardHead(teacher, forwardFeatures(teacher, images), { preLogits: true }).dataSync()))
    images.dispose()
    disposeVit(teacher)
  }
  {
    const student = yield* models.create("vitNanoPatch4_28", { inChans: 1, seed: 0 })
    const batch = 128
    const images = tf.randomNormal([batch, 1, 28, 28], 0, 1, "float32", 1)
    const labels = tf.oneHot(tf.randomUniform([batch], 0, 10, "int32", 2), 10)
    const optimizer = new AdamW(student.params)
    const names = new Map([...student.params].map(([name, p]) => [p.name, name]))
    out["studentTrainStepB128ImgPerSec"] = measure(batch, () =>
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => tf.neg(tf.mean<tf.Scalar>(tf.sum(tf.mul(labels, tf.logSoftmax(forward(student, images))), -1))), [...student.params.values()])
        optimizer.step(new Map(Object.entries(grads).map(([v, g]) => [names.get(v) ?? v, g])), 1e-4, 0.05)
        value.dataSync()
      }))
    optimizer.dispose()
    tf.dispose([images, labels])
    disposeVit(student)
  }
  out["loadAfter"] = uptime()
  return { backend: backend.name, ...out }
})

const result = { bench: "teachers", ...(await Effect.runPromise(main)) }
console.log(json ? JSON.stringify(result) : JSON.stringify(result, null, 2))
