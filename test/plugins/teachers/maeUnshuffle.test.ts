/**
 * MAE's unshuffle (`models_mae.py`: gather(cat([x, mask_tokens]), ids_restore)):
 * visible tokens back at their patches, the mask token everywhere else, and
 * its gradients, against hand-written loops (no tfjs on the reference side).
 */
import * as tf from "@tensorflow/tfjs-core"
import { beforeAll, describe, expect, it } from "vitest"
import { unshuffle } from "../../../plugins/teachers/mae/forward.ts"
import { selectTestBackend } from "./stageHarness.ts"

beforeAll(selectTestBackend)

// 2 images, 5 patches, 2 visible each, width 3.
const b = 2
const l = 5
const kept = 2
const d = 3
const mask = Uint8Array.from([1, 0, 1, 0, 1, /**/ 0, 1, 1, 1, 0])
const visiblePatches = [[1, 3], [0, 4]] // ascending, as the loader's `keep`
const visible = Float32Array.from({ length: b * kept * d }, (_, i) => 0.5 + i)
const token = Float32Array.from([-1, 2, -3])
// upstream gradient: distinct values so a misrouted row shows
const upstream = Float32Array.from({ length: b * l * d }, (_, i) => ((i * 7) % 11) - 5)

describe("MAE unshuffle", () => {
  it("puts each visible token back at its patch and the mask token at every masked patch", () => {
    const out = tf.tidy(() => unshuffle(tf.tensor3d(visible, [b, kept, d]), tf.tensor3d(token, [1, 1, d]), mask, b, l).arraySync() as number[][][])
    for (let i = 0; i < b; i++) {
      for (let p = 0; p < l; p++) {
        const j = visiblePatches[i]?.indexOf(p) ?? -1
        const want = j >= 0 ? Array.from(visible.subarray((i * kept + j) * d, (i * kept + j + 1) * d)) : Array.from(token)
        expect(out[i]?.[p]).toEqual(want)
      }
    }
  })

  it("routes gradients: a visible token gets its patch's, the mask token the sum over masked patches", () => {
    const before = tf.memory().numTensors
    const [gv, gt] = tf.tidy(() => {
      const v = tf.tensor3d(visible, [b, kept, d])
      const t = tf.tensor3d(token, [1, 1, d])
      const dy = tf.tensor3d(upstream, [b, l, d])
      const grads = tf.grads((x: tf.Tensor, y: tf.Tensor) => unshuffle(x, y, mask, b, l))([v, t], dy)
      return [grads[0]?.dataSync(), grads[1]?.dataSync()]
    })
    const wantVisible = new Float32Array(b * kept * d)
    const wantToken = new Float32Array(d)
    for (let i = 0; i < b; i++) {
      for (let p = 0; p < l; p++) {
        const j = visiblePatches[i]?.indexOf(p) ?? -1
        for (let c = 0; c < d; c++) {
          const g = upstream[(i * l + p) * d + c] ?? 0
          if (j >= 0) wantVisible[(i * kept + j) * d + c] = g
          else wantToken[c] = (wantToken[c] ?? 0) + g
        }
      }
    }
    expect(Array.from(gv ?? [])).toEqual(Array.from(wantVisible))
    expect(Array.from(gt ?? [])).toEqual(Array.from(wantToken))
    expect(tf.memory().numTensors).toBe(before)
  })
})
