/**
 * The pieces assembled as one DINO step would use them, on head outputs
 * (no ViT): teacher forward outside the gradient, student loss and grads,
 * SGD, center update, teacher EMA; several steps leak no tensor and leave
 * the frozen g untouched.
 */
import * as tf from "@tensorflow/tfjs-core"
import { expect, it } from "vitest"
import {
  createDinoHead,
  dinoHeadForward,
  dinoLoss,
  disposeDinoHead,
  emaUpdate,
  teacherMomentumSchedule,
  teacherTempSchedule,
  updateCenter,
} from "../../../plugins/objectives/index.ts"
import { describeEachBackend, withoutLeaks } from "../../runtime/backend/allBackends.ts"

describeEachBackend("a DINO step on head outputs", () => {
  it("trains the student head, moves center and teacher, and leaks nothing", async () => {
    const config = { inDim: 8, outDim: 16, hiddenDim: 12, bottleneckDim: 4 }
    const student = createDinoHead(config, 1)
    const teacher = createDinoHead(config, 1)
    const [views, b] = [4, 3]
    const feats = tf.randomNormal([views * b, 8], 0, 1, "float32", 5)
    const globals = tf.slice(feats, [0, 0], [2 * b, 8])
    let center: tf.Tensor = tf.zeros([1, 16])
    const optimizer = tf.train.sgd(0.5)
    const temps = teacherTempSchedule({ warmupTemp: 0.04, temp: 0.07, warmupEpochs: 2, epochs: 4 })
    const momentum = teacherMomentumSchedule({ epochs: 4, itersPerEpoch: 1 })
    const losses: Array<number> = []
    const { leaked } = await withoutLeaks(() => {
      for (let step = 0; step < 4; step++) {
        const t = tf.tidy(() => dinoHeadForward(teacher, globals))
        const cost = optimizer.minimize(
          () => dinoLoss(dinoHeadForward(student, feats), t, center, { studentViews: views, teacherTemp: temps.at(step) }),
          true,
        )
        losses.push(cost?.dataSync()[0] ?? NaN)
        cost?.dispose()
        const next = updateCenter(center, t)
        center.dispose()
        center = next
        t.dispose()
        emaUpdate(teacher.params, student.params, momentum.at(step))
      }
    })
    expect(leaked).toBe(0)
    expect(losses.every(Number.isFinite)).toBe(true)
    expect(Math.abs(center.dataSync()[0] ?? 0)).toBeGreaterThan(0)
    expect(Array.from(student.params.get("last_layer.weight_g")?.dataSync() ?? [])).toEqual(Array.from({ length: 16 }, () => 1))
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(student.params.get("mlp.0.weight") ?? tf.scalar(0), teacher.params.get("mlp.0.weight") ?? tf.scalar(0)))).dataSync()[0] ?? 0)
    expect(diff).toBeGreaterThan(0)
    optimizer.dispose()
    tf.dispose([feats, globals, center])
    disposeDinoHead(student)
    disposeDinoHead(teacher)
  })
})
