/** The teacher EMA: θ_t <- m θ_t + (1 - m) θ_s in place, typed refusals before any change, no leaks. */
import * as tf from "@tensorflow/tfjs-core"
import { expect, it } from "vitest"
import { emaUpdate, ShapeMismatch, UnmatchedParameter } from "../../../plugins/objectives/index.ts"
import { describeEachBackend, withoutLeaks } from "../../runtime/backend/allBackends.ts"

describeEachBackend("emaUpdate", () => {
  it("moves every teacher variable towards the student's", async () => {
    const teacher = new Map<string, tf.Variable>([["a", tf.variable(tf.tensor1d([1, 2]))], ["b", tf.variable(tf.tensor2d([[0]]))]])
    const student = new Map<string, tf.Tensor>([["a", tf.tensor1d([3, 4])], ["b", tf.tensor2d([[10]])]])
    const { leaked } = await withoutLeaks(() => emaUpdate(teacher, student, 0.9))
    expect(leaked).toBe(0)
    Array.from(teacher.get("a")?.dataSync() ?? []).forEach((x, i) => expect(x).toBeCloseTo([1.2, 2.2][i] ?? NaN, 6))
    expect(teacher.get("b")?.dataSync()[0]).toBeCloseTo(1, 6)
    tf.dispose([...teacher.values(), ...student.values()])
  })

  it("refuses unmatched names and shapes without touching the teacher", () => {
    const teacher = new Map([["a", tf.variable(tf.tensor1d([1, 2]))]])
    const wrong = new Map([["a", tf.tensor1d([1, 2, 3])]])
    const extra = new Map([["a", tf.tensor1d([5, 5])], ["z", tf.tensor1d([0])]])
    expect(() => emaUpdate(teacher, wrong, 0.5)).toThrowError(ShapeMismatch)
    expect(() => emaUpdate(teacher, wrong, 0.5)).toThrowError(/student "a" has shape \[3\]; expected \[2\]/)
    expect(() => emaUpdate(teacher, extra, 0.5)).toThrowError(UnmatchedParameter)
    expect(() => emaUpdate(teacher, new Map(), 0.5)).toThrowError(/"a" is missing in the student/)
    expect(Array.from(teacher.get("a")?.dataSync() ?? [])).toEqual([1, 2])
    tf.dispose([...teacher.values(), ...wrong.values(), ...extra.values()])
  })
})
