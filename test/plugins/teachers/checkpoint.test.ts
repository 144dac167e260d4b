/**
 * Loading each built-in teacher from a small checkpoint in timm naming that
 * the test writes itself (vitMicroPatch7_28 shape): DINO as facebookresearch
 * saves it (`backbone.` prefix beside DINOHead `head.*` tensors, removed by
 * the teacher's key map), MAE as a pretraining file (`mask_token`,
 * `decoder_*`, an empty `head`, dropped by the timm filter). The weights
 * arrive unchanged; a missing tensor fails naming the file and the key.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { writeSafetensors } from "../../../plugins/checkpoints/safetensors/file.ts"
import { readStateFile } from "../../../plugins/checkpoints/stateFile.ts"
import { models } from "../../../plugins/models/variants.ts"
import { paramSpecs } from "../../../plugins/models/vit/params.ts"
import { loadTeacherCheckpoint } from "../../../plugins/stages/teachers/load.ts"
import { runStage, selectTestBackend } from "./stageHarness.ts"

beforeAll(selectTestBackend)

const config = Effect.runSync(models.resolve("vitMicroPatch7_28", { numClasses: 0 }))
const timmTensors = paramSpecs(config).map((s, i) => ({
  name: s.name,
  shape: s.shape,
  data: Float32Array.from({ length: s.shape.reduce((a, b) => a * b, 1) }, (_, j) => Math.sin(i * 1000 + j)),
}))

const write = async (tensors: ReadonlyArray<{ name: string; shape: ReadonlyArray<number>; data: Float32Array }>) => {
  const file = path.join(await fs.mkdtemp(path.join(os.tmpdir(), "ssl-kd-ckpt-")), "teacher.safetensors")
  await Effect.runPromise(writeSafetensors(file, tensors))
  return file
}

const load = (teacher: string, checkpoint: string) =>
  runStage(loadTeacherCheckpoint, { teacher, checkpoint, arch: "vitMicroPatch7_28" }, {}, { scratchDir: os.tmpdir() })

describe("teachers/load-checkpoint", () => {
  it("loads DINO's own layout (backbone.* + DINOHead head.*) into timm names", async () => {
    const file = await write([
      ...timmTensors.map((t) => ({ ...t, name: `backbone.${t.name}` })),
      { name: "head.mlp.0.weight", shape: [8, 32], data: new Float32Array(256) },
      { name: "head.last_layer.weight_g", shape: [16, 1], data: new Float32Array(16) },
    ])
    const before = tf.memory().numTensors
    const w = await Effect.runPromise(load("dino", file))
    expect(tf.memory().numTensors).toBe(before)
    expect(w.info).toMatchObject({ teacher: "dino", family: "contrastive", origin: { kind: "checkpoint", file } })
    expect(w.info.normalization.mean).toEqual([0.485, 0.456, 0.406])
    for (const t of timmTensors) expect(Array.from(w.state.get(t.name)?.data ?? []), t.name).toEqual(Array.from(t.data))
  })

  it("loads an MAE pretraining file in timm names, dropping mask_token, decoder_* and the empty head", async () => {
    const file = await write([
      ...timmTensors,
      { name: "mask_token", shape: [1, 1, 16], data: new Float32Array(16) },
      { name: "decoder_embed.weight", shape: [16, 32], data: new Float32Array(512) },
      { name: "decoder_pred.bias", shape: [147], data: new Float32Array(147) },
      { name: "head.weight", shape: [0, 32], data: new Float32Array(0) },
    ])
    const w = await Effect.runPromise(load("mae", file))
    expect(w.info).toMatchObject({ teacher: "mae", family: "masked-image-modeling" })
    expect(w.info.origin.kind === "checkpoint" ? w.info.origin.notes.join("; ") : "").toMatch(/MAE pre-training tensors/)
    expect([...w.state.keys()]).toEqual(timmTensors.map((t) => t.name))
    for (const t of timmTensors) expect(Array.from(w.state.get(t.name)?.data ?? []), t.name).toEqual(Array.from(t.data))
  })

  it("loads the official PyTorch layouts (.pth, torch.save fixtures): DINO training checkpoint and MAE with decoder", async () => {
    const fixtures = path.join(import.meta.dirname, "../../fixtures/pth")
    const micro = new Map(
      [...(await Effect.runPromise(readStateFile(path.join(import.meta.dirname, "../../fixtures/vit/micro.safetensors")))).state].filter(([k]) =>
        paramSpecs(config).some((s) => s.name === k),
      ),
    )
    for (const [teacher, file, note] of [["dino", "dino_full.pth", "dino-teacher layout"], ["mae", "mae_full.pth", "MAE pre-training tensors"]] as const) {
      const before = tf.memory().numTensors
      const w = await Effect.runPromise(load(teacher, path.join(fixtures, file)))
      expect(tf.memory().numTensors).toBe(before)
      expect(w.info.origin.kind === "checkpoint" ? w.info.origin.notes.join("; ") : "").toContain(note)
      expect([...w.state.keys()].sort()).toEqual([...micro.keys()].sort())
      for (const [k, t] of micro) expect(Array.from(w.state.get(k)?.data ?? []), k).toEqual(Array.from(t.data))
    }
  })

  it("fails with CheckpointMismatch naming the file and the missing key", async () => {
    const file = await write(timmTensors.filter((t) => t.name !== "blocks.1.mlp.fc2.bias"))
    const err = await Effect.runPromise(Effect.flip(load("mae", file)))
    expect(err._tag).toBe("CheckpointMismatch")
    expect(err.message).toContain(file)
    expect(err.message).toContain("blocks.1.mlp.fc2.bias")
  })

  it("fails with UnknownNameError and a suggestion for a misspelt teacher", async () => {
    const err = await Effect.runPromise(Effect.flip(load("dinno", "x.safetensors")))
    expect(err._tag).toBe("UnknownNameError")
    expect(err.message).toContain('Did you mean "dino"')
  })
})
