/**
 * DINO's projection head: DINOHead's state_dict names and shapes, which
 * parameters train, the forward pass against an independent float64
 * implementation, and its gradients against float64 finite differences;
 * on every installed backend, with no tensor leaks.
 */
import * as tf from "@tensorflow/tfjs-core"
import { describe, expect, it } from "vitest"
import {
  createDinoHead,
  type DinoHead,
  type DinoHeadConfig,
  dinoHeadForward,
  dinoHeadParamSpecs,
  disposeDinoHead,
  InvalidObjectiveConfig,
  ShapeMismatch,
} from "../../../plugins/objectives/index.ts"
import { describeEachBackend, withoutLeaks } from "../../runtime/backend/allBackends.ts"
import { numericGrad64, relError, seeded } from "./reference.ts"

/** erf by its Maclaurin series (float64-exact for |x| < 5; ±1 beyond, error < 2e-12). */
const erf = (x: number): number => {
  if (Math.abs(x) >= 5) return Math.sign(x)
  let term = x
  let sum = x
  for (let n = 1; n < 200 && Math.abs(term) > 1e-17; n++) {
    term *= (-x * x) / n
    sum += term / (2 * n + 1)
  }
  return (2 / Math.sqrt(Math.PI)) * sum
}
const gelu = (x: number): number => 0.5 * x * (1 + erf(x / Math.SQRT2))

type Params = Map<string, { data: Float64Array; shape: ReadonlyArray<number> }>

/** BatchNorm1d (training mode: batch mean, biased variance, eps 1e-5) of rows [n, width] in place. */
const batchNormRef = (p: Params, bn: string, h: Float64Array, n: number, width: number): void => {
  for (let a = 0; a < width; a++) {
    let mean = 0
    for (let r = 0; r < n; r++) mean += (h[r * width + a] ?? 0) / n
    let variance = 0
    for (let r = 0; r < n; r++) variance += ((h[r * width + a] ?? 0) - mean) ** 2 / n
    for (let r = 0; r < n; r++) {
      const normed = ((h[r * width + a] ?? 0) - mean) / Math.sqrt(variance + 1e-5)
      h[r * width + a] = normed * (p.get(`${bn}.weight`)?.data[a] ?? 0) + (p.get(`${bn}.bias`)?.data[a] ?? 0)
    }
  }
}

/** DINOHead.forward in float64: MLP (GELU between, BatchNorm before each GELU where `bns` names one), F.normalize, weight-normed Linear. */
const headRef = (p: Params, x: Float64Array, n: number, layers: ReadonlyArray<string>, bns: ReadonlyArray<string | undefined> = []): Float64Array => {
  let h = x
  let width = x.length / n
  layers.forEach((m, li) => {
    const w = p.get(`${m}.weight`)
    const b = p.get(`${m}.bias`)
    const [o = 0, i = 0] = w?.shape ?? []
    const out = new Float64Array(n * o)
    for (let r = 0; r < n; r++) for (let a = 0; a < o; a++) {
      let s = b?.data[a] ?? 0
      for (let c = 0; c < i; c++) s += (h[r * width + c] ?? 0) * (w?.data[a * i + c] ?? 0)
      out[r * o + a] = s
    }
    const bn = bns[li]
    if (bn !== undefined) batchNormRef(p, bn, out, n, o)
    if (li < layers.length - 1) out.forEach((v, j) => (out[j] = gelu(v)))
    h = out
    width = o
  })
  const v = p.get("last_layer.weight_v")
  const g = p.get("last_layer.weight_g")
  const [k = 0, d = 0] = v?.shape ?? []
  const out = new Float64Array(n * k)
  for (let r = 0; r < n; r++) {
    const norm = Math.max(Math.hypot(...h.subarray(r * d, r * d + d)), 1e-12)
    for (let a = 0; a < k; a++) {
      const row = v?.data.subarray(a * d, a * d + d) ?? new Float64Array(d)
      const vn = Math.hypot(...row)
      let s = 0
      for (let c = 0; c < d; c++) s += ((h[r * d + c] ?? 0) / norm) * ((g?.data[a] ?? 0) * (row[c] ?? 0) / vn)
      out[r * k + a] = s
    }
  }
  return out
}

const config: DinoHeadConfig = { inDim: 4, outDim: 5, hiddenDim: 6, bottleneckDim: 3, nlayers: 3 }

/** A head whose variables hold seeded values of scale 0.7 (so the GELUs bend), and their float64 copies. */
const seededHead = (c: DinoHeadConfig): { head: DinoHead; params: Params } => {
  const head = createDinoHead(c, 3)
  const params: Params = new Map()
  let seed = 100
  for (const [name, v] of head.params) {
    const data = name.endsWith("weight_g") ? Float32Array.from({ length: v.size }, (_, i) => 1 + 0.1 * i) : seeded(v.size, seed++, 0.7)
    tf.tidy(() => v.assign(tf.tensor(data, v.shape)))
    params.set(name, { data: Float64Array.from(data), shape: v.shape })
  }
  return { head, params }
}

describe("DINO head parameters", () => {
  it("are named and shaped as DINOHead's state_dict (nlayers 3: mlp.0, mlp.2, mlp.4)", () => {
    expect(dinoHeadParamSpecs({ inDim: 192, outDim: 1024 }).map((s) => `${s.name} ${s.shape.join("x")} ${s.trainable}`)).toEqual([
      "mlp.0.weight 2048x192 true",
      "mlp.0.bias 2048 true",
      "mlp.2.weight 2048x2048 true",
      "mlp.2.bias 2048 true",
      "mlp.4.weight 256x2048 true",
      "mlp.4.bias 256 true",
      "last_layer.weight_g 1024x1 false",
      "last_layer.weight_v 1024x256 true",
    ])
  })

  it("nlayers 1 is a bare Linear `mlp`; the prefix and normLastLayer: false apply", () => {
    const names = dinoHeadParamSpecs({ inDim: 8, outDim: 4, nlayers: 1, prefix: "head.", normLastLayer: false }).map((s) => `${s.name} ${s.trainable}`)
    expect(names).toEqual(["head.mlp.weight true", "head.mlp.bias true", "head.last_layer.weight_g true", "head.last_layer.weight_v true"])
  })

  it("useBn puts a BatchNorm1d (weight 1, bias 0) after each hidden Linear: mlp.0, mlp.1, mlp.3, mlp.4, mlp.6", () => {
    expect(dinoHeadParamSpecs({ inDim: 8, outDim: 4, hiddenDim: 6, bottleneckDim: 3, useBn: true }).map((s) => `${s.name} ${s.shape.join("x")} ${s.init} ${s.trainable}`)).toEqual([
      "mlp.0.weight 6x8 trunc02 true",
      "mlp.0.bias 6 zeros true",
      "mlp.1.weight 6 ones true",
      "mlp.1.bias 6 zeros true",
      "mlp.3.weight 6x6 trunc02 true",
      "mlp.3.bias 6 zeros true",
      "mlp.4.weight 6 ones true",
      "mlp.4.bias 6 zeros true",
      "mlp.6.weight 3x6 trunc02 true",
      "mlp.6.bias 3 zeros true",
      "last_layer.weight_g 4x1 ones false",
      "last_layer.weight_v 4x3 linearDefault true",
    ])
    expect(dinoHeadParamSpecs({ inDim: 8, outDim: 4, nlayers: 1, useBn: true }).map((s) => s.name)).toEqual(["mlp.weight", "mlp.bias", "last_layer.weight_g", "last_layer.weight_v"])
  })

  it("refuses a zero width, naming the field", () => {
    expect(() => dinoHeadParamSpecs({ inDim: 8, outDim: 4, bottleneckDim: 0 })).toThrowError(InvalidObjectiveConfig)
    expect(() => dinoHeadParamSpecs({ inDim: 8, outDim: 4, bottleneckDim: 0 })).toThrowError(/bottleneckDim = 0 is invalid/)
  })
})

describeEachBackend("DINO head forward and gradients", () => {
  it("starts with g = 1 and outputs cosines (|y| <= 1) at init", async () => {
    const { leaked } = await withoutLeaks(() => {
      const head = createDinoHead(config, 1)
      expect(Array.from(head.params.get("last_layer.weight_g")?.dataSync() ?? [])).toEqual([1, 1, 1, 1, 1])
      const y = tf.tidy(() => dinoHeadForward(head, tf.randomNormal([3, 4], 0, 1, "float32", 2)).dataSync())
      expect(Math.max(...Array.from(y, Math.abs))).toBeLessThanOrEqual(1 + 1e-6)
      disposeDinoHead(head)
    })
    expect(leaked).toBe(0)
  })

  it("equals the float64 reference", async () => {
    const { leaked } = await withoutLeaks(() => {
      const { head, params } = seededHead(config)
      const x = seeded(2 * 4, 7, 1.5)
      const got = tf.tidy(() => dinoHeadForward(head, tf.tensor2d(x, [2, 4])).dataSync())
      expect(relError(got, headRef(params, Float64Array.from(x), 2, ["mlp.0", "mlp.2", "mlp.4"]))).toBeLessThan(1e-5)
      const wrong = tf.zeros([2, 3])
      expect(() => dinoHeadForward(head, wrong)).toThrowError(ShapeMismatch)
      wrong.dispose()
      disposeDinoHead(head)
    })
    expect(leaked).toBe(0)
  })

  it("with useBn equals the float64 reference, normalizing over the rows of the call", async () => {
    const { leaked } = await withoutLeaks(() => {
      const { head, params } = seededHead({ ...config, useBn: true })
      const x = seeded(5 * 4, 8, 1.5)
      const got = tf.tidy(() => dinoHeadForward(head, tf.tensor2d(x, [5, 4])).dataSync())
      const want = headRef(params, Float64Array.from(x), 5, ["mlp.0", "mlp.3", "mlp.6"], ["mlp.1", "mlp.4", undefined])
      expect(relError(got, want)).toBeLessThan(1e-4)
      disposeDinoHead(head)
    })
    expect(leaked).toBe(0)
  })

  it("has the gradients of float64 finite differences (input, first Linear, weight_v); g frozen", async () => {
    const { leaked } = await withoutLeaks(() => {
      const { head, params } = seededHead(config)
      const layers = ["mlp.0", "mlp.2", "mlp.4"]
      const n = 2
      const x = seeded(n * 4, 8, 1.5)
      const r = seeded(n * 5, 9)
      const objective = (p: Params, xs: Float64Array) => headRef(p, xs, n, layers).reduce((s, y, i) => s + y * (r[i] ?? 0), 0)
      const { gx, gw } = tf.tidy(() => {
        const rt = tf.tensor2d(r, [n, 5])
        const xt = tf.tensor2d(x, [n, 4])
        const gx = tf.grad((xi: tf.Tensor) => tf.sum<tf.Scalar>(tf.mul(dinoHeadForward(head, xi), rt)))(xt).dataSync()
        const { grads } = tf.variableGrads(() => tf.sum<tf.Scalar>(tf.mul(dinoHeadForward(head, xt), rt)))
        return { gx, gw: Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, g.dataSync()])) }
      })
      expect(relError(gx, numericGrad64((xs) => objective(params, xs), x))).toBeLessThan(1e-4)
      const byName = new Map([...head.params].map(([name, v]) => [name, gw[v.name]]))
      expect(byName.get("last_layer.weight_g")).toBeUndefined()
      for (const name of ["mlp.0.weight", "last_layer.weight_v"]) {
        const p = params.get(name)
        if (p === undefined) throw new Error(name)
        const fd = numericGrad64((w) => objective(new Map([...params, [name, { data: w, shape: p.shape }]]), Float64Array.from(x)), p.data)
        expect(relError(byName.get(name) ?? [], fd), name).toBeLessThan(1e-4)
      }
      disposeDinoHead(head)
    })
    expect(leaked).toBe(0)
  })
})
