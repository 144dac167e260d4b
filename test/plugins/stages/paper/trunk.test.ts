/**
 * `paper/trunk-features` + `paper/adapt-teacher-cached` (Partial-k on cached
 * frozen-trunk tokens) at smoke scale: vitMicroPatch7_28 with 3 blocks, 64
 * synthetic-shapes images, wasm. With augmentation off in
 * `paper/adapt-teacher` (cropScaleMin 1, flip 0) the cached stage ends at
 * the same weights (to 1e-5) and trains the same parameters; the frozen
 * parameters stay bit-identical to the teacher's; the artifact round-trips;
 * an interrupted cached run resumes; a trunk of another teacher, k, dataset
 * or count is refused naming the field; no tensor is left behind. Prints the
 * two runs' times (no assertion on them).
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import * as tf from "@tensorflow/tfjs-core"
import { Effect, Exit } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { forwardIntermediates } from "../../../../plugins/models/vit/forward.ts"
import { disposeVit } from "../../../../plugins/models/vit/model.ts"
import { adaptTeacher } from "../../../../plugins/stages/paper/adapt.ts"
import type { AdaptedTeacherValue } from "../../../../plugins/stages/paper/artifact.ts"
import { adaptTeacherCached, TrunkFeatures, trunkFeatures, type TrunkFeaturesValue } from "../../../../plugins/stages/paper/trunk.ts"
import { teacherInput, teacherLoader } from "../../../../plugins/teachers/inputs.ts"
import { loadSplit } from "../../../../plugins/datasets/splits.ts"
import { randomTeacher } from "../../../../plugins/stages/teachers/load.ts"
import { modelFromWeights, type TeacherWeightsValue } from "../../../../plugins/teachers/artifact.ts"
import { runStage, selectTestBackend, type StageRun } from "../../teachers/stageHarness.ts"

const tmp = () => fs.mkdtemp(path.join(os.tmpdir(), "ssl-kd-trunk-"))
const data = { dataset: "synthetic-shapes", trainCount: 64 }
const recipe = { ...data, batchSize: 16, epochs: 3, lr: 0.003, warmupEpochs: 1, seed: 5 }

let teacher: TeacherWeightsValue
let other: TeacherWeightsValue
beforeAll(async () => {
  await selectTestBackend()
  const make = async (seed: number) =>
    Effect.runPromise(runStage(randomTeacher, { teacher: "dino", dataset: "synthetic-shapes", arch: "vitMicroPatch7_28", depth: 3, seed }, {}, { scratchDir: await tmp() }))
  teacher = await make(11)
  other = await make(12)
})

const trunkOf = async (config: Partial<typeof trunkFeatures.config.Encoded>, t = teacher, record?: StageRun) =>
  Effect.runPromise(runStage(trunkFeatures, { ...data, batchSize: 24, ...config }, { teacher: t }, { scratchDir: await tmp(), ...(record === undefined ? {} : { record }) }))
const cached = async (config: Partial<typeof adaptTeacherCached.config.Encoded>, trunk: TrunkFeaturesValue, o: { scratchDir?: string; record?: StageRun } = {}) =>
  Effect.runPromise(runStage(adaptTeacherCached, { ...recipe, ...config }, { teacher, trunk }, { scratchDir: o.scratchDir ?? (await tmp()), ...(o.record === undefined ? {} : { record: o.record }) }))
const uncached = async (k: number) =>
  Effect.runPromise(runStage(adaptTeacher, { ...recipe, mode: "partial-k", k, cropScaleMin: 1, flip: 0 }, { teacher }, { scratchDir: await tmp() }))

const same = (a: Float32Array | undefined, b: Float32Array | undefined) =>
  a !== undefined && b !== undefined && a.length === b.length && a.every((x, i) => Object.is(x, b[i]))
const maxDiff = (a: AdaptedTeacherValue, b: AdaptedTeacherValue) => {
  let worst = 0
  for (const [name, t] of a.state) {
    const u = b.state.get(name)?.data
    if (u === undefined || u.length !== t.data.length) return Infinity
    for (let i = 0; i < u.length; i++) worst = Math.max(worst, Math.abs((t.data[i] ?? 0) - (u[i] ?? 0)))
  }
  return worst
}
/** Parameters that train under Partial-k on a depth-3 model. */
const trained = (k: number) => (name: string) => name.startsWith("head.") || name.startsWith("norm.") || [0, 1, 2].slice(3 - k).some((i) => name.startsWith(`blocks.${i}.`))

describe("paper/trunk-features + paper/adapt-teacher-cached", () => {
  it("the tokens are the teacher's block depth-k-1 output on un-augmented images; the artifact round-trips; nothing leaks", async () => {
    const before = tf.memory().numTensors
    const record: StageRun = { logs: [], progress: [] }
    const trunk = await trunkOf({ k: 1 }, teacher, record)
    expect(tf.memory().numTensors).toBe(before)
    expect(trunk.info).toMatchObject({ k: 1, dataset: "synthetic-shapes", trainCount: 64, images: 64, tokens: 17, dim: 32, teacher: "dino (random init)" })
    expect(trunk.tokens).toHaveLength(64 * 17 * 32)
    expect(trunk.info.labels).toHaveLength(64)
    expect(record.logs[0]).toMatch(/^dino \(random init\): embeddings \+ 2 of 3 blocks on 64 synthetic-shapes images -> \[64, 17, 32\]/)
    // Reference: forwardIntermediates' block 1 tokens of the first 8 images, in one batch of another size.
    const { set } = await Effect.runPromise(loadSplit("synthetic-shapes", "train", 8))
    const loader = await Effect.runPromise(teacherLoader("test", set, teacher.info, 8))
    const model = await Effect.runPromise(modelFromWeights(teacher))
    const reference = tf.tidy(() => forwardIntermediates(model, teacherInput(loader.batch(0, 0).images, teacher.info), { indices: [1] }).intermediates[0]?.tokens.dataSync() as Float32Array)
    disposeVit(model)
    const head = trunk.tokens.subarray(0, 8 * 17 * 32)
    expect(Math.max(...Array.from(reference, (x, i) => Math.abs(x - (head[i] ?? NaN))))).toBeLessThan(1e-5)
    const decoded = await Effect.runPromise(TrunkFeatures.decode(new Map(TrunkFeatures.encode(trunk).map((f) => [f.name, f.bytes]))))
    expect(decoded.info).toEqual(trunk.info)
    expect(same(decoded.tokens, trunk.tokens)).toBe(true)
    expect(tf.memory().numTensors).toBe(before)
  })

  it.each([1, 2])("partial-%i: same trained weights and trainable count as uncached adaptation without augmentation; frozen parameters bit-identical", async (k) => {
    const t0 = performance.now()
    const reference = await uncached(k)
    const t1 = performance.now()
    const trunk = await trunkOf({ k })
    const before = tf.memory().numTensors
    const record: StageRun = { logs: [], progress: [] }
    const w = await cached({ k }, trunk, { record })
    const t2 = performance.now()
    expect(tf.memory().numTensors).toBe(before)
    console.log(`partial-${k}, 64 images x 3 epochs: uncached ${((t1 - t0) / 1000).toFixed(2)} s, trunk + cached ${((t2 - t1) / 1000).toFixed(2)} s; max |weight difference| ${maxDiff(w, reference).toExponential(2)}`)
    expect(record.logs[0]).toMatch(new RegExp(`^dino \\(random init\\): partial-${k} trains [0-9,]+ of 40,682 parameters .* on cached trunk tokens \\(no augmentation\\)$`))
    expect(w.adaptation).toMatchObject({
      mode: `partial-${k}`,
      trainable: reference.adaptation.trainable,
      total: reference.adaptation.total,
      images: 64,
      epochs: 3,
      epochsRunHere: 3,
      dataset: reference.adaptation.dataset,
      classes: reference.adaptation.classes,
      seed: 5,
    })
    expect(w.adaptation.losses.steps).toHaveLength(reference.adaptation.losses.steps.length)
    w.adaptation.losses.steps.forEach((l, i) => expect(Math.abs(l - (reference.adaptation.losses.steps[i] ?? NaN))).toBeLessThan(1e-4))
    expect(w.adaptation.trainAccuracy).toBe(reference.adaptation.trainAccuracy)
    expect(w.info).toEqual(reference.info)
    expect([...w.state.keys()]).toEqual([...reference.state.keys()])
    expect(maxDiff(w, reference)).toBeLessThan(1e-5)
    // Frozen: bit-identical to the teacher; trained: moved.
    for (const [name, t] of w.state) {
      if (trained(k)(name)) expect(same(t.data, teacher.state.get(name)?.data), name).toBe(false)
      else expect(same(t.data, teacher.state.get(name)?.data), name).toBe(true)
    }
  })

  it("resumes an interrupted cached run at epoch 2, ending where an uninterrupted one ends", async () => {
    const trunk = await trunkOf({ k: 1 })
    const full = await cached({ k: 1 }, trunk)
    const scratchDir = await tmp()
    const stop = (p: { note?: string }) => (p.note?.startsWith("epoch 2/") === true ? Effect.interrupt : Effect.void)
    const exit = await Effect.runPromiseExit(runStage(adaptTeacherCached, { ...recipe, k: 1 }, { teacher, trunk }, { scratchDir, onProgress: stop }))
    expect(Exit.isFailure(exit)).toBe(true)
    const before = tf.memory().numTensors
    const record: StageRun = { logs: [], progress: [] }
    const resumed = await cached({ k: 1 }, trunk, { scratchDir, record })
    expect(tf.memory().numTensors).toBe(before)
    expect(record.logs[1]).toMatch(/^resuming at epoch 2 of 3/)
    expect(resumed.adaptation.epochsRunHere).toBe(2)
    expect(resumed.adaptation.losses).toEqual(full.adaptation.losses)
    for (const [name, t] of full.state) expect(same(resumed.state.get(name)?.data, t.data), name).toBe(true)
  })

  it("refuses a trunk of another teacher, k, dataset or count, naming the field; bad k names k", async () => {
    const trunk = await trunkOf({ k: 1 })
    const fails = async (config: Partial<typeof adaptTeacherCached.config.Encoded>, t: TrunkFeaturesValue = trunk, input = teacher) => {
      const exit = await Effect.runPromiseExit(runStage(adaptTeacherCached, { ...recipe, ...config }, { teacher: input, trunk: t }, { scratchDir: await tmp() }))
      return Exit.isFailure(exit) ? String(exit.cause) : "succeeded"
    }
    const before = tf.memory().numTensors
    expect(await fails({ k: 2 })).toContain("stage paper/adapt-teacher-cached: k is 2, but the trunk features were computed with 1")
    expect(await fails({ trainCount: 32 })).toContain("trainCount is 32, but the trunk features were computed with 64")
    expect(await fails({ dataset: "synthetic-textures" })).toContain(`dataset is "synthetic-textures", but the trunk features were computed with "synthetic-shapes"`)
    expect(await fails({}, trunk, other)).toMatch(/TrunkMismatch.*teacher weights is frozen-parameter digest [0-9a-f]{16}, but the trunk features were computed with digest [0-9a-f]{16}/s)
    const renamed = { ...trunk, info: { ...trunk.info, teacher: "mae" } }
    expect(await fails({}, renamed)).toContain(`teacher is "dino (random init)", but the trunk features were computed with "mae"`)
    expect(await fails({ k: 4 })).toContain("k is 4; expected 1 <= k <= 3 (the depth of teacher dino (random init))")
    expect(await fails({ batchSize: 100 })).toContain("batchSize is 100; expected at most the 64 training images")
    expect(tf.memory().numTensors).toBe(before)
    const exit = await Effect.runPromiseExit(runStage(trunkFeatures, { ...data, k: 4 }, { teacher }, { scratchDir: await tmp() }))
    expect(String(Exit.isFailure(exit) ? exit.cause : "")).toContain("stage paper/trunk-features: k is 4; expected 1 <= k <= 3")
  })
})
