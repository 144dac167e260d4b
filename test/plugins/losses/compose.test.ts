/**
 * The registry and the weighted sum: unknown keys ("did you mean"), duplicate
 * keys, params decoded at compose time, Σ w_i L_i with every component
 * logged, `ce` by hand (labels checked), and eq. 4's `jointLoss`: teachers
 * get exactly their own CE's gradient, teacher maps none.
 */
import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import {
  ceLoss, componentValues, composeLosses, crossEntropy, featureDistillation, hardDistillation, jointLoss, type LossInputs, losses, makeLossRegistry,
} from "../../../plugins/losses/index.ts"
import { selectTestBackend } from "../teachers/stageHarness.ts"
import { withoutLeaks } from "../../runtime/backend/allBackends.ts"
import { ce64, rowKl64, softKl64 } from "./reference.ts"

const S = [[1.0, 2.0, -0.5], [0.3, -1.2, 0.8]]
const CL = [[2.0, 0.0, 0.5], [-0.4, 0.9, 0.1]]
const MIM = [[0.0, 3.0, -1.0], [1.5, 0.2, -0.3]]
const Y = [1, 2]
const fail = <E>(e: Effect.Effect<unknown, E>): E => Effect.runSync(Effect.flip(e))

describe("loss registry and composition", () => {
  beforeAll(selectTestBackend)

  it("an unknown key names the known keys and the close one", () => {
    const e = fail(composeLosses(losses, [{ key: "kd-ouptut" }]))
    expect(e._tag).toBe("UnknownNameError")
    expect(e.message).toBe('unknown loss "kd-ouptut". Did you mean "kd-output"? Known: ce, kd-attention, kd-feature, kd-hard, kd-output')
  })

  it("a duplicate key is an error, never an overwrite", () => {
    const r = makeLossRegistry()
    Effect.runSync(r.register("ce", ceLoss))
    const e = fail(r.register("ce", ceLoss))
    expect(e._tag).toBe("DuplicateNameError")
    expect(e.message).toMatch(/loss "ce" is already registered/)
  })

  it("decodes params when composing: bad values, unknown fields and repeated names fail before any tensor", () => {
    const before = tf.memory().numTensors
    expect(fail(composeLosses(losses, [{ key: "kd-output", params: { temperature: 0 } }])).message).toMatch(/loss term "kd-output": params = \{"temperature":0\} is invalid/)
    expect(fail(composeLosses(losses, [{ key: "ce", params: { modle: "cl" } }]))._tag).toBe("InvalidLossConfig")
    expect(fail(composeLosses(losses, [{ key: "ce" }, { key: "ce" }])).message).toMatch(/loss term "ce": name = "ce" is invalid; expected a name no other term has/)
    expect(fail(composeLosses(losses, [{ key: "ce", weight: -1 }])).message).toMatch(/weight = -1/)
    expect(tf.memory().numTensors).toBe(before)
  })

  it("is Σ w_i L_i and logs every term unweighted, with its parts", async () => {
    const loss = Effect.runSync(composeLosses(losses, [
      { key: "ce", weight: 0.5 },
      { key: "kd-output", weight: 2, params: { lambda: 0.25, temperature: 1 } },
      { key: "kd-hard", weight: 0 },
    ]))
    expect(loss.terms.map((t) => `${t.name}:${t.weight}`)).toEqual(["ce:0.5", "kd-output:2", "kd-hard:0"])
    const { value: v, leaked } = await withoutLeaks(() => tf.tidy(() => componentValues(loss.compute({
      labels: tf.tensor1d(Y, "int32"),
      outputs: { student: { logits: tf.tensor2d(S) }, cl: { logits: tf.tensor2d(CL) }, mim: { logits: tf.tensor2d(MIM) } },
    }))))
    expect(leaked).toBe(0)
    expect(Object.keys(v).sort()).toEqual(["ce", "kd-output", "kd-output/cl", "kd-output/mim", "total"])
    expect(v.ce).toBeCloseTo(ce64(S, Y), 5)
    expect(v["kd-output/cl"]).toBeCloseTo(softKl64(S, CL), 5)
    expect(v["kd-output"]).toBeCloseTo(0.25 * softKl64(S, CL) + 0.75 * softKl64(S, MIM), 5)
    expect(v.total).toBeCloseTo(0.5 * (v.ce ?? 0) + 2 * (v["kd-output"] ?? 0), 5)
  })

  it("a missing input names what the batch has", () => {
    const loss = Effect.runSync(composeLosses(losses, [{ key: "kd-output" }]))
    tf.tidy(() => {
      expect(() => loss.compute({ outputs: { student: { logits: tf.tensor2d(S) }, cl: { logits: tf.tensor2d(CL) } } }))
        .toThrow(/needs outputs\.mim\.logits, which the batch does not provide; present: outputs\.student\.logits, outputs\.cl\.logits/)
    })
  })

  it("ce: by hand, with label smoothing, and refusing labels outside 0..K-1", () => {
    tf.tidy(() => {
      const z = tf.tensor2d(S)
      expect(crossEntropy(z, tf.tensor1d(Y, "int32")).dataSync()[0]).toBeCloseTo(ce64(S, Y), 5)
      const smooth = 0.1 * S.reduce((a, r) => a - r.reduce((x, v) => x + Math.log(Math.exp(v) / r.reduce((s2, u) => s2 + Math.exp(u), 0)), 0) / 3, 0) / 2
      expect(crossEntropy(z, tf.tensor1d(Y, "int32"), { smoothing: 0.1 }).dataSync()[0]).toBeCloseTo(0.9 * ce64(S, Y) + smooth, 5)
      expect(() => crossEntropy(z, tf.tensor1d([1, 3], "int32"))).toThrow(/label 3 at batch index 1 is outside 0\.\.2/)
    })
  })

  it("kd-hard is CE against the teacher's argmax; kd-feature is MSE or 1 - cos, teacher detached", () => {
    tf.tidy(() => {
      const r = hardDistillation(tf.tensor2d(S), tf.tensor2d(MIM))
      expect(r.total.dataSync()[0]).toBeCloseTo(ce64(S, [1, 0]), 5)
      expect(r.components.agreement?.dataSync()[0]).toBe(0.5)
      const a = tf.tensor2d([[1, 0], [0, 2]])
      const b = tf.tensor2d([[0, 1], [0, 1]])
      expect(featureDistillation(a, b, "mse").dataSync()[0]).toBeCloseTo((1 + 1 + 0 + 1) / 4, 6)
      expect(featureDistillation(a, b, "cosine").dataSync()[0]).toBeCloseTo((1 + 0) / 2, 6)
      const [, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => featureDistillation(x, y))([a, b])
      expect(Array.from(gb?.dataSync() ?? [1])).toEqual([0, 0, 0, 0])
    })
  })

  it("jointLoss (eq. 4): total = CE_S + CE_CL + CE_MIM + L_KD + L_Attn; teachers get only their own CE's gradient", async () => {
    const joint = Effect.runSync(jointLoss({ l1: 0.5, l2: 0, mimHead: 1 }))
    expect(joint.terms.map((t) => t.name)).toEqual(["ce/student", "ce/cl", "ce/mim", "kd-output", "kd-attention"])
    const sMap = [[[[0.5, 0.5], [0.2, 0.8]], [[0.3, 0.7], [0.9, 0.1]]]]
    const tMap = [[[[1, 0], [0, 1]], [[0.6, 0.4], [0.5, 0.5]]]]
    const { leaked } = await withoutLeaks(() => tf.tidy(() => {
      const labels = tf.tensor1d([1], "int32")
      const s = tf.tensor2d([S[0]!])
      const c = tf.tensor2d([CL[0]!])
      const m = tf.tensor2d([MIM[0]!])
      const sa = tf.tensor4d(sMap)
      const ma = tf.tensor4d(tMap)
      const inputs = (zs: tf.Tensor, zc: tf.Tensor, zm: tf.Tensor, as: tf.Tensor, am: tf.Tensor): LossInputs => ({
        labels, outputs: { student: { logits: zs, attention: as }, cl: { logits: zc }, mim: { logits: zm, attention: am } },
      })
      const v = componentValues(joint.compute(inputs(s, c, m, sa, ma)))
      const kd = 0.5 * softKl64([S[0]!], [CL[0]!]) + 0.5 * softKl64([S[0]!], [MIM[0]!])
      const attn = rowKl64(tMap.map((i) => i[1]!), sMap.map((i) => i[1]!))
      expect(v["kd-attention"]).toBeCloseTo(attn, 5)
      expect(v.total).toBeCloseTo(ce64([S[0]!], [1]) + ce64([CL[0]!], [1]) + ce64([MIM[0]!], [1]) + kd + attn, 5)
      const grads = tf.grads((zs: tf.Tensor, zc: tf.Tensor, zm: tf.Tensor, as: tf.Tensor, am: tf.Tensor) => joint.compute(inputs(zs, zc, zm, as, am)).total)([s, c, m, sa, ma])
      const own = tf.grads((zc: tf.Tensor, zm: tf.Tensor) => tf.add(crossEntropy(zc, labels), crossEntropy(zm, labels)))([c, m])
      expect(Array.from(grads[1]?.dataSync() ?? [])).toEqual(Array.from(own[0]?.dataSync() ?? [1]))
      expect(Array.from(grads[2]?.dataSync() ?? [])).toEqual(Array.from(own[1]?.dataSync() ?? [1]))
      expect(Array.from(grads[4]?.dataSync() ?? [1]).every((g) => g === 0)).toBe(true)
      expect(Math.max(...Array.from(grads[3]?.dataSync() ?? [], Math.abs))).toBeGreaterThan(0.01)
    }))
    expect(leaked).toBe(0)
  })
})
