/**
 * The paper's stages on a streamed split (issue 13): a generated
 * ImageNet-layout JPEG tree (3 classes, 8 train + 2 val images each, 36-75
 * px) registered like the `imagenet` entry, with the `imagenet-folder`
 * reader and `maxInMemory: 1`, so that loading it in memory fails: a stage
 * that runs on it streamed it. Micro ViTs (28 px, patch 7), wasm.
 *
 * - training (`paper/adapt-teacher`, `paper/train-student`,
 *   `paper/kd-single`, `paper/joint-distill`): epochs x floor(n / batch)
 *   steps, the same weights and losses on a rerun with the same seed, other
 *   losses with another seed, a resumed run ending where an uninterrupted one
 *   ends, every image decoded once per epoch, at most (prefetch + 1) batches
 *   of decoded images held at once whether the split has 24 or 72 images, no
 *   tensor left behind;
 * - scoring (`paper/evaluate-teacher`, `paper/evaluate` head protocol,
 *   `teachers/attention-distance`, `paper/ac-select`, `teachers/knn`): the same numbers as
 *   the same files loaded in memory at the model's size (a reader without
 *   `stream`; top-1, per-class and k-NN top-1 exactly, attention statistics up to
 *   float32 rounding), with the streamed split's counts and labels; the
 *   linear probe of a grey model on the RGB split decoded as grey.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import * as tf from "@tensorflow/tfjs-core"
import { Effect, Exit } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import type { Progress } from "../../../../dsl/index.ts"
import type { AnyStage, InputValues } from "../../../../dsl/Stage.ts"
import type { FloatTensor } from "../../../../plugins/checkpoints/timmFilter.ts"
import { Datasets } from "../../../../plugins/datasets/builtins.ts"
import type { DatasetRegistry } from "../../../../plugins/datasets/registry.ts"
import { acSelect, acSelectPretrained } from "../../../../plugins/stages/paper/acSelect.ts"
import { adaptTeacher } from "../../../../plugins/stages/paper/adapt.ts"
import type { AdaptedTeacherValue } from "../../../../plugins/stages/paper/artifact.ts"
import { kdSingle, trainStudent } from "../../../../plugins/stages/paper/baselines.ts"
import type { DistilledStudentValue } from "../../../../plugins/stages/paper/distilledArtifact.ts"
import { evaluate } from "../../../../plugins/stages/paper/downstream.ts"
import { evaluateTeacher } from "../../../../plugins/stages/paper/evaluate.ts"
import { jointDistill, paperTeachers } from "../../../../plugins/stages/paper/joint.ts"
import { attentionDistance } from "../../../../plugins/stages/teachers/analysis/attentionStage.ts"
import { knnEvaluate } from "../../../../plugins/stages/teachers/analysis/knnStage.ts"
import { randomTeacher } from "../../../../plugins/stages/teachers/load.ts"
import type { TeacherWeightsValue } from "../../../../plugins/teachers/artifact.ts"
import { treeRegistry, WNIDS, writeImagenetTree } from "../../../fixtures/imagenet/tree.ts"
import { runStage, selectTestBackend, type StageRun } from "../../teachers/stageHarness.ts"

const tmp = (tag = "stream") => fs.mkdtemp(path.join(os.tmpdir(), `ssl-kd-${tag}-`))

let registry: DatasetRegistry
let teacher: TeacherWeightsValue
let adapted: AdaptedTeacherValue
let adaptRecord: StageRun
let adaptLeak = Number.NaN

/** Runs a stage against the tree registry; `record` collects its logs and progress. */
const stage = async <S extends AnyStage>(
  s: S,
  config: Partial<S["config"]["Encoded"]>,
  inputs: InputValues<S["inputs"]>,
  o: { readonly record?: StageRun; readonly scratchDir?: string; readonly onProgress?: (p: Progress) => Effect.Effect<void> } = {},
) => {
  const scratchDir = o.scratchDir ?? (await tmp())
  return Effect.runPromiseExit(
    runStage(s, config, inputs, { scratchDir, ...(o.record === undefined ? {} : { record: o.record }), ...(o.onProgress === undefined ? {} : { onProgress: o.onProgress }) }).pipe(
      Effect.provideService(Datasets, registry),
    ),
  ).then((exit) => {
    if (Exit.isSuccess(exit)) return exit.value
    throw new Error(String(exit.cause))
  })
}

/** The split lines a streamed stage logs: how many images it streams, how many it decoded and the most it held at once. */
const streamed = (logs: ReadonlyArray<string>, split: string) => {
  const open = logs.map((l) => new RegExp(`^${split}: streaming (\\d+) of (\\d+) images \\((\\d+) classes\\)`).exec(l)).find((m) => m !== null)
  const close = logs.map((l) => new RegExp(`^${split}: streamed (\\d+) decoded images, at most (\\d+) held at once$`).exec(l)).find((m) => m !== null)
  if (open == null || close == null) return undefined
  return { images: Number(open[1]), of: Number(open[2]), classes: Number(open[3]), decoded: Number(close[1]), held: Number(close[2]) }
}

const same = (a: Float32Array | undefined, b: Float32Array | undefined) =>
  a !== undefined && b !== undefined && a.length === b.length && a.every((x, i) => Object.is(x, b[i]))
const sameState = (a: ReadonlyMap<string, FloatTensor>, b: ReadonlyMap<string, FloatTensor>) =>
  a.size === b.size && [...a].every(([n, t]) => same(t.data, b.get(n)?.data))

/**
 * Equal up to float32 rounding: a streamed batch scales bytes by 1 / 255 in
 * double precision, the in-memory loader by its float32 pixel map, so a
 * pixel may differ in the last bit (top-1 counts above compare exactly).
 */
const expectClose = (a: ReadonlyArray<ReadonlyArray<number>>, b: ReadonlyArray<ReadonlyArray<number>>) => {
  expect(a.map((r) => r.length)).toEqual(b.map((r) => r.length))
  a.forEach((row, i) => row.forEach((x, j) => expect(Math.abs(x - b[i]![j]!)).toBeLessThanOrEqual(1e-5 * Math.abs(x))))
}

const recipe = { dataset: "tiny", batchSize: 8, epochs: 2, lr: 0.003, cropScaleMin: 0.35, seed: 5 }
const PREFETCH = 2

beforeAll(async () => {
  await selectTestBackend()
  const small = await tmp("tiny-imagenet")
  const large = await tmp("tiny-imagenet-x3")
  await writeImagenetTree(small, { train: 8, val: 2 })
  await writeImagenetTree(large, { train: 24, val: 2 }, 18)
  registry = treeRegistry([
    { name: "tiny", root: small, workers: 1 },
    { name: "tiny-x3", root: large },
    { name: "tiny-memory", root: small, reader: "imagenet-folder-in-memory", maxInMemory: 1000, size: 28 },
  ])
  teacher = await stage(randomTeacher, { teacher: "dino", dataset: "tiny", arch: "vitMicroPatch7_28", seed: 11 }, {})
  adaptRecord = { logs: [], progress: [] }
  const before = tf.memory().numTensors
  adapted = await stage(adaptTeacher, { ...recipe, mode: "partial-1" }, { teacher }, { record: adaptRecord })
  adaptLeak = tf.memory().numTensors - before
}, 180_000)

describe("training stages on a streamed split", () => {
  it("the tree cannot be loaded in memory (maxInMemory 1): a stage that runs on it streams it", async () => {
    const spec = await Effect.runPromise(registry.resolve("tiny", { split: "train" }))
    const exit = await Effect.runPromiseExit(registry.load(spec))
    expect(Exit.isFailure(exit) && String(exit.cause)).toContain('field "options.maxInMemory" is 1 (the train split has 24 images)')
  })

  it("paper/adapt-teacher: epochs x floor(24 / 8) steps on the tree's classes, every image decoded once per pass, nothing leaked", () => {
    expect(adaptLeak).toBe(0)
    expect(adapted.adaptation).toMatchObject({ mode: "partial-1", dataset: "tiny", classes: [...WNIDS], images: 24, epochs: 2, epochsRunHere: 2 })
    expect(adapted.adaptation.losses.steps).toHaveLength(6)
    expect(adapted.info.config.numClasses).toBe(3)
    const s = streamed(adaptRecord.logs, "tiny train")
    // 2 training epochs of 3 full batches, then the train top-1 over all 24 in file order.
    expect(s).toEqual({ images: 24, of: 24, classes: 3, decoded: 2 * 24 + 24, held: expect.any(Number) })
    expect(s!.held).toBeLessThanOrEqual((PREFETCH + 1) * recipe.batchSize)
    expect(adaptRecord.logs.at(-1)).toMatch(/^tiny train: streamed/)
  })

  it("paper/adapt-teacher: the same weights and losses on a rerun with the same seed, other losses with another seed", async () => {
    const again = await stage(adaptTeacher, { ...recipe, mode: "partial-1" }, { teacher })
    expect(again.adaptation.losses).toEqual(adapted.adaptation.losses)
    expect(again.adaptation.trainAccuracy).toBe(adapted.adaptation.trainAccuracy)
    expect(sameState(again.state, adapted.state)).toBe(true)
    const other = await stage(adaptTeacher, { ...recipe, mode: "partial-1", seed: 6 }, { teacher })
    expect(other.adaptation.losses.steps).not.toEqual(adapted.adaptation.losses.steps)
  })

  it("paper/adapt-teacher: a run interrupted in epoch 2 resumes from its checkpoint and ends where the uninterrupted run ends", async () => {
    const scratchDir = await tmp()
    const first: StageRun = { logs: [], progress: [] }
    const stop = (p: Progress) => (p.note?.startsWith("epoch 2/") === true ? Effect.interrupt : Effect.void)
    await expect(stage(adaptTeacher, { ...recipe, mode: "partial-1" }, { teacher }, { scratchDir, onProgress: stop, record: first })).rejects.toThrow()
    expect(first.logs.some((l) => l.startsWith("epoch 1/2"))).toBe(true)
    expect(first.logs.at(-1)).toMatch(/^tiny train: streamed \d+ decoded images/) // the stream closed with the interruption
    const second: StageRun = { logs: [], progress: [] }
    const resumed = await stage(adaptTeacher, { ...recipe, mode: "partial-1" }, { teacher }, { scratchDir, record: second })
    expect(second.logs.some((l) => l.startsWith("resuming at epoch 2 of 2"))).toBe(true)
    expect(resumed.adaptation.epochsRunHere).toBe(1)
    expect(streamed(second.logs, "tiny train")?.decoded).toBe(24 + 24) // epoch 2 only, then the train top-1
    expect(resumed.adaptation.losses).toEqual(adapted.adaptation.losses)
    expect(sameState(resumed.state, adapted.state)).toBe(true)
  })

  it("paper/train-student: the dataset's normalization, a bit-identical rerun, and decoded images held at once that do not grow with the split", async () => {
    const student = { ...recipe, seed: 7 }
    const runs: Array<{ value: DistilledStudentValue; record: StageRun }> = []
    for (const dataset of ["tiny", "tiny", "tiny-x3"]) {
      const record: StageRun = { logs: [], progress: [] }
      const before = tf.memory().numTensors
      runs.push({ value: await stage(trainStudent, { ...student, dataset }, {}, { record }), record })
      expect(tf.memory().numTensors).toBe(before)
    }
    const [a, b, large] = runs as [(typeof runs)[0], (typeof runs)[0], (typeof runs)[0]]
    expect(a.value.info.normalization).toEqual({ mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] })
    expect(a.value.info.config).toMatchObject({ inChans: 3, numClasses: 3, imgSize: 28 })
    expect(a.value.distillation).toMatchObject({ dataset: "tiny", images: 24, classes: [...WNIDS], method: "student-alone" })
    expect(a.value.distillation.losses.steps).toHaveLength(2 * 3)
    expect(b.value.distillation.losses).toEqual(a.value.distillation.losses)
    expect(sameState(b.value.state, a.value.state)).toBe(true)
    expect(large.value.distillation.images).toBe(72)
    expect(large.value.distillation.losses.steps).toHaveLength(2 * 9)
    const small = streamed(a.record.logs, "tiny train")
    const big = streamed(large.record.logs, "tiny-x3 train")
    expect(small?.decoded).toBe(2 * 24)
    expect(big?.decoded).toBe(2 * 72)
    for (const s of [small!, big!]) {
      expect(s.held).toBeGreaterThanOrEqual(recipe.batchSize)
      expect(s.held).toBeLessThanOrEqual((PREFETCH + 1) * recipe.batchSize)
    }
  })

  it("paper/kd-single and paper/joint-distill (one stage, AC heads selected on the stream) train on the streamed split", async () => {
    const kdRecord: StageRun = { logs: [], progress: [] }
    const kd = await stage(kdSingle, { ...recipe, seed: 7 }, { teacher: adapted }, { record: kdRecord })
    expect(kd.distillation).toMatchObject({ method: "kd-single", images: 24 })
    expect(kd.distillation.losses.steps).toHaveLength(6)
    expect(Object.keys(kd.distillation.components)).toContain("kd-output/teacher")
    expect(streamed(kdRecord.logs, "tiny train")?.decoded).toBe(2 * 24)

    const mae = await stage(randomTeacher, { teacher: "mae", dataset: "tiny", arch: "vitMicroPatch7_28", seed: 12 }, {})
    const heads = []
    for (const t of [teacher, mae]) heads.push(await stage(acSelectPretrained, { dataset: "tiny", calibrationCount: 12, batchSize: 8 }, { teacher: t }))
    expect(heads.map((h) => h.images)).toEqual([12, 12])
    const inputs = {
      pretrained: [{ item: "dino", value: teacher }, { item: "mae", value: mae }],
      adapted: [],
      heads: [{ item: "ac-dino", value: heads[0]! }, { item: "ac-mae", value: heads[1]! }],
    }
    const table = paperTeachers({ cl: "dino", mim: "mae", clHeads: "ac-dino", mimHeads: "ac-mae" })
    const record: StageRun = { logs: [], progress: [] }
    const before = tf.memory().numTensors
    const ours = await stage(jointDistill, { ...recipe, seed: 7, teachers: table }, inputs, { record })
    expect(tf.memory().numTensors).toBe(before)
    expect(ours.distillation).toMatchObject({ method: "joint", images: 24, classes: [...WNIDS] })
    expect(ours.distillation.losses.steps).toHaveLength(6)
    // Each teacher trained alongside is then scored on the training split, streamed too (24 more decodes each).
    expect(ours.trainedTeachers?.map((t) => t.value.adaptation.images)).toEqual([24, 24])
    expect(streamed(record.logs, "tiny train")?.decoded).toBe(2 * 24 + 2 * 24)
    const again = await stage(jointDistill, { ...recipe, seed: 7, teachers: table }, inputs)
    expect(again.distillation.losses).toEqual(ours.distillation.losses)
    expect(sameState(again.state, ours.state)).toBe(true)
  }, 120_000)
})

describe("scoring stages on a streamed split", () => {
  it("paper/evaluate-teacher, paper/evaluate (head), attention distance, AC select and k-NN: the numbers of the same files in memory", async () => {
    const records: Record<string, StageRun> = {}
    const twice = async <S extends AnyStage>(name: string, s: S, config: Partial<S["config"]["Encoded"]>, inputs: InputValues<S["inputs"]>) => {
      const record: StageRun = { logs: [], progress: [] }
      records[name] = record
      const before = tf.memory().numTensors
      const onStream = await stage(s, { ...config, dataset: "tiny" }, inputs, { record })
      expect(tf.memory().numTensors).toBe(before)
      const inMemory = await stage(s, { ...config, dataset: "tiny-memory" }, inputs)
      return [onStream, inMemory] as const
    }
    const [top1, top1Memory] = await twice("top1", evaluateTeacher, { batchSize: 4 }, { teacher: adapted })
    expect(top1).toMatchObject({ dataset: "tiny", testImages: 6, mode: "partial-1" })
    expect(top1.top1).toBe(top1Memory.top1)
    expect(streamed(records["top1"]!.logs, "tiny test")).toMatchObject({ images: 6, of: 6, decoded: 6 })

    const student = await stage(trainStudent, { ...recipe, seed: 7 }, {})
    const [score, scoreMemory] = await twice("evaluate", evaluate, { batchSize: 5, k: 5 }, { model: student })
    expect(score).toMatchObject({ dataset: "tiny", protocol: "head", classes: [...WNIDS], trainImages: 24, testImages: 6 })
    expect(score.top1).toBe(scoreMemory.top1)
    expect(score.perClass).toEqual(scoreMemory.perClass)
    expect(score.knnTop1).toBe(scoreMemory.knnTop1)
    expect(streamed(records["evaluate"]!.logs, "tiny train")).toMatchObject({ images: 24, decoded: 24 })
    expect(streamed(records["evaluate"]!.logs, "tiny test")).toMatchObject({ images: 6, decoded: 6 })

    const [distances, distancesMemory] = await twice("attention", attentionDistance, { testCount: 5, batchSize: 2 }, { teacher })
    expect(distances.images).toBe(5)
    expectClose(distances.perHead, distancesMemory.perHead)
    expect(streamed(records["attention"]!.logs, "tiny test")).toMatchObject({ images: 5, of: 6, decoded: 5 })

    const [heads, headsMemory] = await twice("ac", acSelect, { calibrationCount: 20, batchSize: 8 }, { teacher: adapted })
    expect(heads).toMatchObject({ images: 20, dataset: "tiny" })
    expectClose([heads.perHead], [headsMemory.perHead])
    expect(heads.best).toBe(headsMemory.best)

    const [knn, knnMemory] = await twice("knn", knnEvaluate, { k: 5, batchSize: 8 }, { teacher })
    expect(knn).toMatchObject({ dataset: "tiny", trainImages: 24, testImages: 6 })
    expect(knn.top1).toBe(knnMemory.top1)
    expect(streamed(records["knn"]!.logs, "tiny train")).toMatchObject({ images: 24, decoded: 24 })
  }, 120_000)

  it("paper/evaluate, linear probe: a grey model on the streamed RGB split, decoded as grey with rgbToGrey, refused without", async () => {
    const grey = await stage(trainStudent, { dataset: "synthetic-shapes", trainCount: 32, batchSize: 16, epochs: 1, seed: 3 }, {})
    expect(grey.info.config.inChans).toBe(1)
    await expect(stage(evaluate, { dataset: "tiny", k: 5 }, { model: grey })).rejects.toThrow("dataset tiny has 3 channels but model student vitMicroPatch7_28 takes 1; set rgbToGrey: true")
    const record: StageRun = { logs: [], progress: [] }
    const before = tf.memory().numTensors
    const score = await stage(evaluate, { dataset: "tiny", k: 5, rgbToGrey: true, batchSize: 7 }, { model: grey }, { record })
    expect(tf.memory().numTensors).toBe(before)
    expect(score).toMatchObject({ dataset: "tiny", protocol: "linear-probe", classes: [...WNIDS], trainImages: 24, testImages: 6 })
    expect(score.perClass).toHaveLength(3)
    expect(record.logs).toContain("paper/evaluate: tiny converted from RGB to grey (sharp's greyscale, while decoding) for student vitMicroPatch7_28")
    expect(streamed(record.logs, "tiny test")).toMatchObject({ images: 6, decoded: 6 })
  }, 60_000)
})
