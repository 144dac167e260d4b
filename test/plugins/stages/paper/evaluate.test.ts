/**
 * `paper/evaluate-teacher` (a cell of Table 1): test top-1 of an adapted
 * micro teacher in [0, 1] with its mode and trainable count carried over, no
 * tensor left behind; a test split whose classes differ from the head's
 * fails naming the dataset and the classes expected.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import * as tf from "@tensorflow/tfjs-core"
import { Effect, Exit } from "effect"
import { beforeAll, expect, it } from "vitest"
import { adaptTeacher } from "../../../../plugins/stages/paper/adapt.ts"
import type { AdaptedTeacherValue } from "../../../../plugins/stages/paper/artifact.ts"
import { evaluateTeacher } from "../../../../plugins/stages/paper/evaluate.ts"
import { randomTeacher } from "../../../../plugins/stages/teachers/load.ts"
import { runStage, selectTestBackend } from "../../teachers/stageHarness.ts"

const tmp = () => fs.mkdtemp(path.join(os.tmpdir(), "ssl-kd-eval-"))

let adapted: AdaptedTeacherValue
beforeAll(async () => {
  await selectTestBackend()
  const teacher = await Effect.runPromise(runStage(randomTeacher, { teacher: "dino", dataset: "synthetic-shapes", arch: "vitMicroPatch7_28" }, {}, { scratchDir: await tmp() }))
  adapted = await Effect.runPromise(
    runStage(adaptTeacher, { dataset: "synthetic-shapes", trainCount: 32, batchSize: 16, epochs: 1, mode: "partial-1" }, { teacher }, { scratchDir: await tmp() }),
  )
})

it("scores the adapted head on the test split and carries the adaptation's row", async () => {
  const before = tf.memory().numTensors
  const r = await Effect.runPromise(runStage(evaluateTeacher, { dataset: "synthetic-shapes", testCount: 40, batchSize: 16 }, { teacher: adapted }, { scratchDir: await tmp() }))
  expect(tf.memory().numTensors).toBe(before)
  expect(r).toMatchObject({ teacher: "dino (random init)", mode: "partial-1", trainable: 13_098, total: 27_978, testImages: 40, dataset: "synthetic-shapes" })
  expect(r.top1 >= 0 && r.top1 <= 1).toBe(true)
  expect(Math.abs(r.top1 * 40 - Math.round(r.top1 * 40))).toBeLessThan(1e-9) // a count of the 40 images
})

it("refuses a test split with other classes than the head's", async () => {
  const exit = await Effect.runPromiseExit(runStage(evaluateTeacher, { dataset: "synthetic-counting", testCount: 8 }, { teacher: adapted }, { scratchDir: await tmp() }))
  expect(Exit.isFailure(exit) && String(exit.cause)).toContain('stage paper/evaluate-teacher: dataset is "synthetic-counting"; expected a test split with the classes the head was trained on (synthetic-shapes: circle, square')
})
