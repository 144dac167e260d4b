/**
 * ViT weights through safetensors: save -> load gives identical outputs (F32)
 * and close ones (F16, BF16); a file ssl-kd writes loads in the timm-math
 * PyTorch reference; mismatched files list every offending key; timm's
 * checkpoint variants pass the key filter. No tensor leaks.
 */
import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  type CheckpointMismatch,
  type FloatTensor,
  loadVitCheckpoint,
  loadVitState,
  saveVitCheckpoint,
  timmCheckpointFilter,
  writeSafetensors,
} from "../../../plugins/checkpoints/index.ts"
import { disposeVit, forward, models, paramSpecs, type VitModel } from "../../../plugins/models/index.ts"
import "../../runtime/backend/allBackends.ts"
import { relError } from "../models/fixture.ts"

const dir = mkdtempSync(join(tmpdir(), "ssl-kd-ckpt-"))
const create = (seed: number, numClasses = 10) => Effect.runPromise(models.create("vitMicroPatch7_28", { seed, numClasses }))
const images = () => tf.randomNormal([2, 3, 28, 28], 0, 1, "float32", 7)
const logitsOf = (m: VitModel) => tf.tidy(() => forward(m, images()).dataSync())
const mismatch = (e: Effect.Effect<unknown, CheckpointMismatch>) => Effect.runSync(Effect.flip(e))

let source: VitModel
beforeAll(async () => {
  source = await create(1)
})
afterAll(() => disposeVit(source))

describe("save -> load", () => {
  it("F32 round trip gives bit-identical outputs and leaks nothing", async () => {
    const file = join(dir, "f32.safetensors")
    await Effect.runPromise(saveVitCheckpoint(source, file))
    const copy = await create(2)
    const before = tf.memory().numTensors
    const notes = await Effect.runPromise(loadVitCheckpoint(copy, file))
    expect(notes).toEqual([])
    expect(tf.memory().numTensors).toBe(before)
    expect(Array.from(logitsOf(copy))).toEqual(Array.from(logitsOf(source)))
    disposeVit(copy)
  })

  it.each([["F16", 2e-2], ["BF16", 5e-2]] as const)("%s round trip stays within %s of the F32 outputs", async (dtype, tol) => {
    const file = join(dir, `${dtype}.safetensors`)
    await Effect.runPromise(saveVitCheckpoint(source, file, { dtype }))
    const copy = await create(3)
    await Effect.runPromise(loadVitCheckpoint(copy, file))
    expect(relError(logitsOf(copy), logitsOf(source))).toBeLessThan(tol)
    disposeVit(copy)
  })

  const python = "/usr/bin/python3"
  const hasTorch = existsSync(python) && (() => {
    try {
      execFileSync(python, ["-c", "import torch, numpy"], { stdio: "ignore" })
      return true
    } catch {
      return false
    }
  })()
  it.skipIf(!hasTorch)("a file ssl-kd writes loads in the timm-math PyTorch module with the same logits", async () => {
    const file = join(dir, "for-timm.safetensors")
    const input = join(dir, "input.safetensors")
    await Effect.runPromise(saveVitCheckpoint(source, file))
    const x = tf.tidy(() => images().dataSync())
    await Effect.runPromise(writeSafetensors(input, [{ name: "images", shape: [2, 3, 28, 28], data: Float32Array.from(x) }]))
    const script = fileURLToPath(new URL("../../fixtures/vit/timm_load.py", import.meta.url))
    const out: unknown = JSON.parse(execFileSync(python, [script, file, input], { encoding: "utf8" }))
    expect(Array.isArray(out)).toBe(true)
    const flat = Array.isArray(out) ? out.flat() : []
    expect(relError(logitsOf(source), flat.map(Number))).toBeLessThan(1e-4)
  })
})

const stateOf = (m: VitModel): Map<string, FloatTensor> =>
  new Map([...m.params].map(([k, v]) => [k, { shape: v.shape, data: Float32Array.from(v.dataSync()) }]))

describe("mismatches", () => {
  it("list every missing, unexpected and wrongly shaped key at once, assigning nothing", async () => {
    const target = await create(4)
    const state = stateOf(source)
    state.delete("blocks.0.attn.qkv.weight")
    state.delete("norm.bias")
    state.set("blocks.7.mlp.fc1.weight", { shape: [1], data: new Float32Array(1) })
    state.set("head.weight", { shape: [5, 32], data: new Float32Array(160) })
    const before = logitsOf(target)
    const err = mismatch(loadVitState(target, state, "bad.safetensors"))
    expect(err.missing).toEqual(["blocks.0.attn.qkv.weight", "norm.bias"])
    expect(err.unexpected).toEqual(["blocks.7.mlp.fc1.weight"])
    expect(err.wrongShape).toEqual([{ key: "head.weight", expected: [10, 32], actual: [5, 32] }])
    expect(err.message).toContain("bad.safetensors")
    expect(err.message).toContain("head.weight: expected [10, 32], file has [5, 32]")
    expect(Array.from(logitsOf(target))).toEqual(Array.from(before))
    disposeVit(target)
  })
})

describe("timmCheckpointFilter (timm's checkpoint_filter_fn cases)", () => {
  it("MAE pre-training file: drops mask_token and decoder_*, maps fc_norm to norm, drops an empty head", async () => {
    const headless = await create(5, 0)
    const state = stateOf(source)
    const norm = state.get("norm.weight")
    for (const p of ["weight", "bias"]) {
      const t = state.get(`norm.${p}`)
      state.delete(`norm.${p}`)
      if (t !== undefined) state.set(`fc_norm.${p}`, t)
    }
    state.set("head.weight", { shape: [0, 32], data: new Float32Array(0) })
    state.set("head.bias", { shape: [0], data: new Float32Array(0) })
    state.set("mask_token", { shape: [1, 1, 32], data: new Float32Array(32) })
    state.set("decoder_embed.weight", { shape: [16, 32], data: new Float32Array(512) })
    const { state: out, notes } = timmCheckpointFilter(state, headless.config)
    expect(notes.join("\n")).toMatch(/fc_norm.weight -> norm.weight/)
    expect(out.get("norm.weight")).toBe(norm)
    await Effect.runPromise(loadVitState(headless, out, "mae.safetensors"))
    expect(paramSpecs(headless.config).some((s) => s.name.startsWith("head."))).toBe(false)
    disposeVit(headless)
  })

  it("strips DDP module. prefixes, resamples another grid's pos_embed, skips the head on request (keeping the model's)", async () => {
    const target = await create(6, 3)
    const state = new Map([...stateOf(source)].map(([k, v]) => [`module.${k}`, v]))
    state.set("module.pos_embed", { shape: [1, 10, 32], data: new Float32Array(320).fill(0.5) })
    const { state: out, notes } = timmCheckpointFilter(state, target.config, { skipHead: true })
    expect(out.get("pos_embed")?.shape).toEqual([1, 17, 32])
    expect(Array.from(out.get("pos_embed")?.data ?? []).slice(32).every((v) => Math.abs(v - 0.5) < 1e-6)).toBe(true)
    expect(notes.some((n) => n.includes("pos_embed resampled from 10 to 17"))).toBe(true)
    expect(out.has("head.weight")).toBe(false)
    const err = mismatch(loadVitState(target, out, "x"))
    expect(err.missing).toEqual(["head.weight", "head.bias"])
    const head = Array.from(target.params.get("head.weight")?.dataSync() ?? [])
    await Effect.runPromise(loadVitState(target, out, "x", { keepHead: true }))
    expect(Array.from(target.params.get("head.weight")?.dataSync() ?? [])).toEqual(head)
    disposeVit(target)
  })
})
