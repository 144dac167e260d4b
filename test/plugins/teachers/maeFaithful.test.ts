/**
 * MAE as `models_mae.py` (issue 11): mask ratio 0.75 by default, exactly
 * `L - int(L · 0.25)` patches masked per image (37 of the 7x7 grid); fixed
 * sin-cos position embeddings in encoder and decoder, outside the optimizer,
 * unchanged by training steps and saved under `pos_embed`; the artifact
 * records `globalPool` and, for `"avg"`, carries `fc_norm` in place of `norm`.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import * as tf from "@tensorflow/tfjs-core"
import { Effect, Schema } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { masked } from "../../../plugins/datasets/augment/augmentation.ts"
import { makeLoader } from "../../../plugins/datasets/loader.ts"
import { loadSplit } from "../../../plugins/datasets/splits.ts"
import { sincosPosEmbed2d } from "../../../plugins/models/vit/posEmbed.ts"
import { cosineSchedule } from "../../../plugins/objectives/schedules.ts"
import { MaePretrainConfig } from "../../../plugins/teachers/mae/config.ts"
import { createMaeNetworks, disposeMaeNetworks, fixedMaeParams } from "../../../plugins/teachers/mae/networks.ts"
import { maeStep } from "../../../plugins/teachers/mae/step.ts"
import { pretrainMae } from "../../../plugins/teachers/mae/stage.ts"
import { modelFromWeights } from "../../../plugins/teachers/artifact.ts"
import { disposeVit } from "../../../plugins/models/vit/model.ts"
import type { VitConfig } from "../../../plugins/models/vit/config.ts"
import { runStage, selectTestBackend } from "./stageHarness.ts"

beforeAll(selectTestBackend)

const vit: VitConfig = { imgSize: 28, patchSize: 4, inChans: 1, embedDim: 16, depth: 1, numHeads: 2, mlpRatio: 2, numClasses: 0 }

describe("MAE faithful to models_mae.py", () => {
  it("masks 0.75 by default: exactly 37 of 49 patches per image (the reference keeps int(49 · 0.25) = 12)", async () => {
    const c = Schema.decodeUnknownSync(MaePretrainConfig)({})
    expect(c.maskRatio).toBe(0.75)
    const { spec, set } = await Effect.runPromise(loadSplit("synthetic-shapes", "train", 8))
    const loader = await Effect.runPromise(makeLoader(set, { batchSize: 8, normalization: spec.normalization, seed: 1, augmentation: masked({ size: 28, patchSize: 4, maskRatio: c.maskRatio }) }))
    const m = loader.batch(0, 0).mask
    expect(m?.numPatches).toBe(49)
    expect(m?.numMasked).toBe(49 - Math.floor(49 * (1 - 0.75)))
    for (let i = 0; i < 8; i++) expect(m?.mask.subarray(i * 49, (i + 1) * 49).reduce((a, b) => a + b, 0)).toBe(37)
  })

  it("keeps both sin-cos position embeddings fixed: outside the optimizer, unchanged by steps, while the rest trains", async () => {
    const c = Schema.decodeUnknownSync(MaePretrainConfig)({ decoderDim: 8, decoderDepth: 1, decoderHeads: 2, lr: 0.01 })
    const n = createMaeNetworks("t", vit, c)
    expect([...n.trainable.keys()].filter((k) => k.includes("pos_embed"))).toEqual([])
    expect([...fixedMaeParams]).toEqual(["pos_embed", "decoder_pos_embed"])
    const pos = Array.from(n.encoder.params.get("pos_embed")?.dataSync() ?? [])
    expect(pos).toEqual(Array.from(sincosPosEmbed2d(16, 7, true)))
    expect(Array.from(n.decoderParams.get("decoder_pos_embed")?.dataSync() ?? [])).toEqual(Array.from(sincosPosEmbed2d(8, 7, true)))
    const qkv = Array.from(n.encoder.params.get("blocks.0.attn.qkv.weight")?.dataSync() ?? [])
    const { spec, set } = await Effect.runPromise(loadSplit("synthetic-shapes", "train", 8))
    const loader = await Effect.runPromise(makeLoader(set, { batchSize: 4, normalization: spec.normalization, seed: 1, augmentation: masked({ size: 28, patchSize: 4, maskRatio: 0.75 }) }))
    const lr = cosineSchedule({ base: 0.01, final: 0.01, epochs: 1, itersPerEpoch: 2 })
    const before = tf.memory().numTensors
    for (let s = 0; s < 2; s++) expect(Number.isFinite(maeStep(n, c, loader.batch(0, s), s, lr))).toBe(true)
    expect(tf.memory().numTensors).toBe(before)
    expect(Array.from(n.encoder.params.get("pos_embed")?.dataSync() ?? [])).toEqual(pos)
    expect(Array.from(n.decoderParams.get("decoder_pos_embed")?.dataSync() ?? [])).toEqual(Array.from(sincosPosEmbed2d(8, 7, true)))
    expect(Array.from(n.encoder.params.get("blocks.0.attn.qkv.weight")?.dataSync() ?? [])).not.toEqual(qkv)
    disposeMaeNetworks(n)
  })

  it("records globalPool in the artifact; avg stores fc_norm = 1 / 0 instead of norm, and the sin-cos pos_embed", async () => {
    const scratchDir = await fs.mkdtemp(path.join(os.tmpdir(), "ssl-kd-mae-"))
    const w = await Effect.runPromise(runStage(pretrainMae, {
      dataset: "synthetic-shapes", trainCount: 16, arch: "vitMicroPatch7_28", batchSize: 8, epochs: 1, warmupEpochs: 0,
      decoderDim: 16, decoderDepth: 1, decoderHeads: 2, globalPool: "avg",
    }, {}, { scratchDir }))
    expect(w.info.config.globalPool).toBe("avg")
    const keys = [...w.state.keys()]
    expect(keys.slice(-2)).toEqual(["fc_norm.weight", "fc_norm.bias"])
    expect(keys.some((k) => k.startsWith("norm."))).toBe(false)
    expect(Array.from(w.state.get("fc_norm.weight")?.data ?? [])).toEqual(Array(32).fill(1))
    expect(Array.from(w.state.get("pos_embed")?.data ?? [])).toEqual(Array.from(sincosPosEmbed2d(32, 4, true)))
    const model = await Effect.runPromise(modelFromWeights(w))
    expect(model.params.has("fc_norm.weight")).toBe(true)
    disposeVit(model)
  })

  it("refuses a width that the sin-cos embedding cannot take, naming the field", async () => {
    const scratchDir = await fs.mkdtemp(path.join(os.tmpdir(), "ssl-kd-mae-"))
    const exit = await Effect.runPromiseExit(runStage(pretrainMae, { dataset: "synthetic-shapes", trainCount: 16, arch: "vitMicroPatch7_28", batchSize: 8, epochs: 1, warmupEpochs: 0, decoderDim: 18, decoderHeads: 2 }, {}, { scratchDir }))
    expect(String(exit)).toMatch(/decoderDim/)
    expect(String(exit)).toMatch(/multiple of 4/)
  })
})
