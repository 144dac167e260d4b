/**
 * Adaptation modes (sec. 3.1): parsing, Table 1's trainable counts on
 * ViT-B/16, and a short AdamW run on the micro ViT where Partial-1 changes
 * exactly the head, the last block and the final norm, every other parameter
 * bit-identical (linear: the head only).
 */
import * as tf from "@tensorflow/tfjs-core"
import { beforeAll, describe, expect, it } from "vitest"
import { createVit, disposeVit, forward, vitBasePatch16_224, vitMicroPatch7_28 } from "../../../plugins/models/index.ts"
import { crossEntropy } from "../../../plugins/losses/index.ts"
import { AdamW } from "../../../plugins/training/adamw.ts"
import { adaptationCount, adaptationParams, type AdaptationMode, parseAdaptationMode } from "../../../plugins/training/partial.ts"
import { selectTestBackend } from "../teachers/stageHarness.ts"

const mode = (s: string): AdaptationMode => {
  const m = parseAdaptationMode(s)
  if ("_tag" in m) throw m
  return m
}

describe("adaptation modes", () => {
  beforeAll(selectTestBackend)

  it("parses linear, partial-k and full, and names what is expected otherwise", () => {
    expect(parseAdaptationMode("partial-3")).toEqual({ kind: "partial", blocks: 3 })
    expect(parseAdaptationMode("linear")).toEqual({ kind: "linear" })
    expect(parseAdaptationMode("full")).toEqual({ kind: "full" })
    const bad = parseAdaptationMode("partial-13", 12)
    expect("_tag" in bad && bad.message).toBe('adaptation mode "partial-13" is invalid; expected "linear", "full" or "partial-k" with 1 <= k <= 12 (the model\'s depth) (e.g. "partial-1")')
    expect("_tag" in parseAdaptationMode("partial-0")).toBe(true)
    expect("_tag" in parseAdaptationMode("finetune")).toBe(true)
  })

  it("reproduces Table 1's trainable counts on ViT-B/16 (1000 classes)", () => {
    const m = (s: string) => Number((adaptationCount(vitBasePatch16_224, mode(s)).trainable / 1e6).toFixed(2))
    expect(m("linear")).toBe(0.77)
    expect(m("partial-1")).toBe(7.86)
    expect(m("full")).toBe(86.57)
    expect(adaptationCount(vitMicroPatch7_28, mode("partial-1")).trainable).toBe(12_704 + 330 + 64)
  })

  const train = (m: AdaptationMode) => {
    const model = createVit("vitMicroPatch7_28", vitMicroPatch7_28, 3)
    const before = new Map([...model.params].map(([n, v]) => [n, Float32Array.from(v.dataSync())]))
    const { params } = adaptationParams(model, m)
    const opt = new AdamW(params)
    const images = tf.randomNormal([4, 3, 28, 28], 0, 1, "float32", 5)
    const labels = tf.tensor1d([0, 3, 7, 9], "int32")
    const tensors = tf.memory().numTensors
    for (let i = 0; i < 3; i++) {
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => crossEntropy(forward(model, images), labels), [...params.values()])
        // variableGrads keys gradients by the tfjs variable's own name.
        opt.step(new Map([...params].map(([n, v]) => [n, grads[v.name]!])), 1e-3, 0.05)
      })
    }
    expect(tf.memory().numTensors).toBe(tensors)
    const changed = [...model.params].filter(([n, v]) => {
      const a = before.get(n) ?? new Float32Array()
      return !v.dataSync().every((x, i) => Object.is(x, a[i]))
    }).map(([n]) => n)
    opt.dispose()
    disposeVit(model)
    tf.dispose([images, labels])
    return { changed, trainable: [...params.keys()] }
  }

  it("partial-1 updates exactly the head, the last block and the final norm; all else bit-identical", () => {
    const start = tf.memory().numTensors
    const { changed, trainable } = train(mode("partial-1"))
    expect(changed).toEqual(trainable)
    expect(changed.every((n) => n.startsWith("blocks.1.") || n.startsWith("head.") || n.startsWith("norm."))).toBe(true)
    expect(changed.filter((n) => n.startsWith("blocks.1.")).length).toBe(12)
    expect(changed).toContain("head.weight")
    expect(tf.memory().numTensors).toBe(start)
  })

  it("linear updates the head only", () => {
    expect(train(mode("linear")).changed).toEqual(["head.weight", "head.bias"])
  })
})
