/**
 * The initialisation schemes of `createVit`: MAE's (`initialize_weights`:
 * xavier-uniform Linear and flattened patch weights, normal(0.02) class
 * token, fixed sin-cos `pos_embed`, LayerNorm 1/0, zero biases), DINO's
 * (trunc-normal 0.02 class token) and timm's default, checked by their
 * bounds and moments.
 */
import { describe, expect, it } from "vitest"
import { createVit, disposeVit, sincosPosEmbed2d, type VitConfig, xavierBound } from "../../../plugins/models/index.ts"
import "../../runtime/backend/allBackends.ts"

const config: VitConfig = { imgSize: 28, patchSize: 4, inChans: 1, embedDim: 32, depth: 2, numHeads: 4, mlpRatio: 4, numClasses: 10 }

const values = (m: ReturnType<typeof createVit>, name: string): Float32Array => {
  const v = m.params.get(name)
  if (v === undefined) throw new Error(`no ${name}`)
  return v.dataSync() as Float32Array
}
const stats = (x: Float32Array) => {
  const n = x.length
  const mean = x.reduce((a, b) => a + b, 0) / n
  const variance = x.reduce((a, b) => a + (b - mean) ** 2, 0) / n
  return { mean, std: Math.sqrt(variance), maxAbs: Math.max(...Array.from(x, Math.abs)) }
}

describe("createVit(..., \"mae\")", () => {
  const model = createVit("mae", config, 1, "mae")

  it("xavier-uniform Linear weights: inside ±√(6/(fan_in+fan_out)), filling it (std bound/√3)", () => {
    for (const [name, fanIn, fanOut] of [
      ["blocks.0.attn.qkv.weight", 32, 96],
      ["blocks.1.attn.proj.weight", 32, 32],
      ["blocks.0.mlp.fc1.weight", 32, 128],
      ["blocks.1.mlp.fc2.weight", 128, 32],
      ["head.weight", 32, 10],
    ] as const) {
      const bound = Math.sqrt(6 / (fanIn + fanOut))
      expect(xavierBound(fanIn, fanOut)).toBeCloseTo(bound, 12)
      const s = stats(values(model, name))
      expect(s.maxAbs, name).toBeLessThanOrEqual(bound)
      expect(s.maxAbs, name).toBeGreaterThan(0.9 * bound)
      expect(s.std / (bound / Math.sqrt(3)), name).toBeGreaterThan(0.9)
      expect(s.std / (bound / Math.sqrt(3)), name).toBeLessThan(1.1)
    }
  })

  it("patch projection: xavier-uniform of the Linear [D, C·p·p] = [32, 16]; bias the conv default U(±1/√16)", () => {
    const w = stats(values(model, "patch_embed.proj.weight"))
    expect(w.maxAbs).toBeLessThanOrEqual(Math.sqrt(6 / (16 + 32)))
    expect(w.maxAbs).toBeGreaterThan(0.9 * Math.sqrt(6 / (16 + 32)))
    expect(stats(values(model, "patch_embed.proj.bias")).maxAbs).toBeLessThanOrEqual(0.25)
  })

  it("cls_token normal std 0.02; pos_embed the sin-cos table with a zero class row; LayerNorm 1/0; biases 0", () => {
    const cls = stats(values(model, "cls_token"))
    expect(cls.std).toBeGreaterThan(0.01)
    expect(cls.std).toBeLessThan(0.03)
    expect(Array.from(values(model, "pos_embed"))).toEqual(Array.from(sincosPosEmbed2d(32, 7, true)))
    expect(Array.from(values(model, "blocks.0.norm1.weight")).every((x) => x === 1)).toBe(true)
    expect(Array.from(values(model, "norm.bias")).every((x) => x === 0)).toBe(true)
    expect(Array.from(values(model, "blocks.1.mlp.fc1.bias")).every((x) => x === 0)).toBe(true)
  })

  it("timm's default scheme is unchanged: trunc-normal(0.02) weights and pos_embed, cls_token std 1e-6", () => {
    const timm = createVit("timm", config, 1)
    const w = stats(values(timm, "blocks.0.attn.qkv.weight"))
    expect(w.std).toBeGreaterThan(0.015)
    expect(w.std).toBeLessThan(0.02)
    expect(w.maxAbs).toBeLessThanOrEqual(0.04 + 1e-6)
    expect(stats(values(timm, "pos_embed")).std).toBeGreaterThan(0.015)
    expect(stats(values(timm, "cls_token")).maxAbs).toBeLessThan(1e-5)
    const dino = createVit("dino", config, 1, "dino")
    expect(stats(values(dino, "cls_token")).std).toBeGreaterThan(0.01)
    expect(Array.from(values(dino, "blocks.0.attn.qkv.weight"))).toEqual(Array.from(values(timm, "blocks.0.attn.qkv.weight")))
    disposeVit(timm)
    disposeVit(dino)
    disposeVit(model)
  })
})
