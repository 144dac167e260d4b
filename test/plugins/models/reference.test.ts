/**
 * Forward outputs, attention maps and parameter gradients of the tfjs ViT
 * against PyTorch (test/fixtures/vit/generate.py, computed in float64), on
 * every installed backend. Tolerance: 1e-4 relative to each output's scale.
 */
import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import { afterAll, beforeAll, expect, it } from "vitest"
import { loadVitState, type FloatTensor } from "../../../plugins/checkpoints/index.ts"
import { disposeVit, forward, forwardHead, forwardIntermediates, models, type VitModel } from "../../../plugins/models/index.ts"
import { describeEachBackend } from "../../runtime/backend/allBackends.ts"
import { fixturePath, loadFixture, need, relError } from "./fixture.ts"

const tol = 1e-4
let fixture: ReadonlyMap<string, FloatTensor>
let model: VitModel

beforeAll(async () => {
  fixture = await loadFixture()
  model = await Effect.runPromise(models.create("vitMicroPatch7_28", { numClasses: 10 }))
  const params = new Map([...fixture].filter(([k]) => model.params.has(k)))
  await Effect.runPromise(loadVitState(model, params, fixturePath))
})
afterAll(() => disposeVit(model))

const input = (key: string): tf.Tensor => {
  const t = need(fixture, key)
  return tf.tensor(t.data, [...t.shape])
}

describeEachBackend("ViT vs PyTorch reference", () => {
  it("logits, features and every block's attention map agree to 1e-4", () => {
    const before = tf.memory().numTensors
    const errors = tf.tidy(() => {
      const out = forwardIntermediates(model, input("images"), { attention: true })
      const logits = forwardHead(model, out.features)
      const features = forwardHead(model, out.features, { preLogits: true })
      const e: Record<string, number> = {
        logits: relError(logits.dataSync(), need(fixture, "logits").data),
        features: relError(features.dataSync(), need(fixture, "features").data),
      }
      for (const im of out.intermediates) {
        expect(im.attn?.shape).toEqual([2, 4, 17, 17])
        e[`attn.${im.block}`] = relError(im.attn?.dataSync() ?? [], need(fixture, `attn.${im.block}`).data)
      }
      return e
    })
    expect(tf.memory().numTensors).toBe(before)
    expect(Object.keys(errors).sort()).toEqual(["attn.0", "attn.1", "features", "logits"])
    if (process.env["SSL_KD_REPORT"] !== undefined) console.log(JSON.stringify(errors))
    for (const [k, v] of Object.entries(errors)) expect(v, k).toBeLessThan(tol)
  })

  it("resamples pos_embed bilinearly for 35 px inputs like timm (5x5 grid from 4x4)", () => {
    const errors = tf.tidy(() => {
      const out = forwardIntermediates(model, input("images35"), { indices: [-1], attention: true })
      const attn = out.intermediates[0]?.attn
      expect(attn?.shape).toEqual([2, 4, 26, 26])
      return {
        logits: relError(forwardHead(model, out.features).dataSync(), need(fixture, "logits35").data),
        attn: relError(attn?.dataSync() ?? [], need(fixture, "attn35.1").data),
      }
    })
    expect(errors.logits).toBeLessThan(tol)
    expect(errors.attn).toBeLessThan(tol)
  })

  it("parameter gradients of sum(logits * probe) agree with autograd to 1e-4", () => {
    const before = tf.memory().numTensors
    const errors = tf.tidy(() => {
      const images = input("images")
      const probe = input("probe")
      const { grads } = tf.variableGrads(() => tf.sum<tf.Scalar>(tf.mul(forward(model, images), probe)), [...model.params.values()])
      const byName = new Map([...model.params].map(([name, v]) => [v.name, name]))
      return Object.entries(grads).map(([vname, g]) => {
        const name = byName.get(vname) ?? vname
        return { name, err: relError(g.dataSync(), need(fixture, `grad.${name}`).data) }
      })
    })
    expect(tf.memory().numTensors).toBe(before)
    expect(errors.length).toBe(model.params.size)
    if (process.env["SSL_KD_REPORT"] !== undefined) console.log(Math.max(...errors.map((e) => e.err)))
    for (const { name, err } of errors) expect(err, name).toBeLessThan(tol)
  })
})
