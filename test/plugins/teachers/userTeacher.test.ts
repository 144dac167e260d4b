/**
 * A teacher defined outside the library (`userTeacher.ts`) runs through every
 * teacher stage in one pipeline: its own pretraining stage, loading from a
 * checkpoint written with its key map's prefix, random init, k-NN,
 * attention distance and the Figure 1 stage; no tensor is left behind and a
 * rerun is served from the cache. Also: definitions and the registry fail
 * with typed errors that say what was expected.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import * as tf from "@tensorflow/tfjs-core"
import { Effect, Exit } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { Pipeline } from "../../../dsl/index.ts"
import { defineTeacher } from "../../../dsl/Teacher.ts"
import { writeSafetensors } from "../../../plugins/checkpoints/safetensors/file.ts"
import { attentionDistance } from "../../../plugins/stages/teachers/analysis/attentionStage.ts"
import { attentionFigure } from "../../../plugins/stages/teachers/analysis/figureStage.ts"
import { knnEvaluate } from "../../../plugins/stages/teachers/analysis/knnStage.ts"
import { loadTeacherCheckpoint, randomTeacher } from "../../../plugins/stages/teachers/load.ts"
import { teachers } from "../../../plugins/teachers/builtins.ts"
import { TensorBackend } from "../../../runtime/backend/TensorBackend.ts"
import { statuses, tempDir } from "../../runtime/harness.ts"
import { runPipelineWith, runStage, selectTestBackend } from "./stageHarness.ts"
import { halfMasked } from "./userTeacher.ts"

beforeAll(selectTestBackend)

const data = { dataset: "synthetic-shapes" }
const evalSmall = { ...data, trainCount: 48, testCount: 16, k: 5 }
const attn = { ...data, testCount: 8 }

describe("a user's teacher", () => {
  it("runs through pretraining, checkpoint loading, random init, k-NN, attention distance and Figure 1", async () => {
    const dir = await tempDir("user-teacher")
    const random = await Effect.runPromise(runStage(randomTeacher, { teacher: "half-masked", seed: 5, ...data }, {}, { scratchDir: dir }))
    const checkpoint = path.join(dir, "half-masked.safetensors")
    await Effect.runPromise(writeSafetensors(checkpoint, [...random.state].map(([name, t]) => ({ name: `encoder.${name}`, shape: t.shape, data: t.data }))))
    const pipeline = Pipeline.make("user-teacher")
      .stage("pretrain", halfMasked.pretrain, { config: { ...data, trainCount: 32, arch: "vitMicroPatch7_28", epochs: 1, batchSize: 16, warmupEpochs: 0, decoderDim: 16, decoderDepth: 1, decoderHeads: 2 } })
      .stage("loaded", loadTeacherCheckpoint, { config: { teacher: "half-masked", checkpoint, ...data } })
      .stage("random", randomTeacher, { config: { teacher: "half-masked", ...data } })
      .stage("knn", knnEvaluate, { inputs: { teacher: "pretrain" }, config: evalSmall })
      .stage("knn-loaded", knnEvaluate, { inputs: { teacher: "loaded" }, config: evalSmall })
      .stage("attn", attentionDistance, { inputs: { teacher: "pretrain" }, config: attn })
      .stage("attn-loaded", attentionDistance, { inputs: { teacher: "loaded" }, config: attn })
      .stage("attn-random", attentionDistance, { inputs: { teacher: "random" }, config: attn })
      .stage("figure", attentionFigure, { inputs: { contrastive: "attn-loaded", masked: "attn", reference: "attn-random" } })
      .build()
    const before = tf.memory().numTensors
    const options = { stageServices: TensorBackend.layer({ flag: "wasm" }) }
    const report = await runPipelineWith(path.join(dir, "cache"), pipeline, options)
    expect(tf.memory().numTensors).toBe(before)
    expect(Object.values(statuses(report))).toEqual(new Array(9).fill("ran"))
    const again = await runPipelineWith(path.join(dir, "cache"), pipeline, options)
    expect(Object.values(statuses(again))).toEqual(new Array(9).fill("cached"))
    const figures = (await fs.readdir(path.join(dir, "cache"), { recursive: true })).filter((f) => f.endsWith("figure1.png") || f.endsWith("figure1.svg"))
    expect(figures).toHaveLength(2)
  })

  it("is listed by the registry; duplicates and unknown names fail with typed errors", () => {
    expect(teachers.names()).toEqual(["dino", "half-masked", "mae"])
    const dup = Effect.runSyncExit(teachers.register(halfMasked.name, halfMasked))
    expect(Exit.isFailure(dup) && String(dup.cause)).toContain("already registered")
    const unknown = Effect.runSync(Effect.flip(teachers.get("half-maskd")))
    expect(unknown.message).toContain('Did you mean "half-masked"')
  })

  it("rejects a definition whose fields do not fit, naming the field", () => {
    const base = { family: "contrastive" as const, description: "", architecture: "vitMicroPatch7_28", weights: { naming: "timm" as const }, pretrain: halfMasked.pretrain }
    expect(() => defineTeacher({ ...base, name: "Bad Name", normalization: "dataset" })).toThrow(/name is "Bad Name"; expected lowercase/)
    expect(() => defineTeacher({ ...base, name: "ok", normalization: { mean: [0.5], std: [0] } })).toThrow(/normalization .* expected finite means and stds > 0/)
  })
})
