/**
 * AdamW counts steps per parameter, as PyTorch does: a parameter that had no
 * gradient for a while (DINO's last layer, frozen in the first epoch with
 * `grad = None`) gets the full bias correction on its first real update, i.e.
 * a first step of lr · g / (|g| + eps), not a damped one from the global step.
 */
import * as tf from "@tensorflow/tfjs-core"
import { expect, it } from "vitest"
import { AdamW } from "../../../plugins/training/adamw.ts"
import { describeEachBackend, withoutLeaks } from "../../runtime/backend/allBackends.ts"

describeEachBackend("AdamW", () => {
  it("gives a parameter skipped for k steps the same first update as a fresh one", async () => {
    const a = tf.variable(tf.tensor1d([1, 2]), true)
    const b = tf.variable(tf.tensor1d([1, 2]), true)
    const opt = new AdamW(new Map([["a", a], ["b", b]]))
    const lr = 0.1
    const { leaked } = await withoutLeaks(() => {
      for (let k = 0; k < 3; k++) {
        const g = tf.tensor1d([0.5, -2])
        opt.step(new Map([["a", g]]), lr, 0)
        g.dispose()
      }
      expect(Array.from(b.dataSync())).toEqual([1, 2])
      const g = tf.tensor1d([0.5, -2])
      opt.step(new Map([["b", g]]), lr, 0)
      g.dispose()
    })
    expect(leaked).toBe(0)
    const got = Array.from(b.dataSync())
    expect(got[0]).toBeCloseTo(1 - lr, 5)
    expect(got[1]).toBeCloseTo(2 + lr, 5)
    const steps = opt.state().get("adamw.steps")
    expect(Array.from(steps?.dataSync() ?? [])).toEqual([3, 1])
    opt.dispose()
    tf.dispose([a, b])
  })
})
