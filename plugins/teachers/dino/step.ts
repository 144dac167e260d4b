/**
 * One DINO training step (Caron et al. 2021, Algorithm 1):
 *
 *   t = g_t(global views)                     teacher: no gradient
 *   s = g_s(global views ++ local views)      student, view-major rows
 *   loss = H(t, s) over pairs of different views (eq. 3; `dinoLoss`)
 *   student ← AdamW(clip(∇loss)), last layer frozen for the first epochs
 *   c ← m c + (1 - m) mean(t)                 (eq. 4; `updateCenter`)
 *   θ_t ← λ θ_t + (1 - λ) θ_s                 (`emaUpdate`)
 *
 * with the learning rate, weight decay, teacher momentum and temperature
 * taken from their schedules at this step or epoch.
 */
import * as tf from "@tensorflow/tfjs-core"
import type { ImageBatch } from "../../datasets/loader.ts"
import { imagesToTensor } from "../../datasets/tensors.ts"
import { forwardFeatures, poolClassToken } from "../../models/vit/forward.ts"
import type { VitModel } from "../../models/vit/model.ts"
import { dinoLoss, updateCenter } from "../../objectives/dino.ts"
import { type DinoHead, dinoHeadForward } from "../../objectives/dinoHead.ts"
import { emaUpdate } from "../../objectives/ema.ts"
import { cosineSchedule, dinoLrSchedule, type Schedule, teacherMomentumSchedule, teacherTempSchedule } from "../../objectives/schedules.ts"
import { clipPerParameter } from "../../training/clip.ts"
import type { DinoPretrainConfig } from "./config.ts"
import type { DinoNetworks } from "./networks.ts"

export interface DinoSchedules {
  readonly lr: Schedule
  readonly weightDecay: Schedule
  readonly momentum: Schedule
  /** Per epoch. */
  readonly teacherTemp: Schedule
}

/**
 * The schedules of a run from its config (`main_dino.py`): learning rate
 * (linear warm-up, cosine to minLr), weight decay (cosine), teacher momentum
 * (cosine to 1) per iteration; teacher temperature per epoch, warmed up over
 * min(warmupTeacherTempEpochs, epochs) epochs (the reference fails when the
 * warm-up outlasts the run; here a short run warms up over all of it).
 */
export const dinoSchedules = (c: DinoPretrainConfig, itersPerEpoch: number): DinoSchedules => ({
  lr: dinoLrSchedule({ lr: c.lr, batchSize: c.batchSize, minLr: c.minLr, epochs: c.epochs, itersPerEpoch, warmupEpochs: c.warmupEpochs }),
  weightDecay: cosineSchedule({ base: c.weightDecay, final: c.weightDecayEnd, epochs: c.epochs, itersPerEpoch }, "weight decay"),
  momentum: teacherMomentumSchedule({ base: c.momentumTeacher, epochs: c.epochs, itersPerEpoch }),
  teacherTemp: teacherTempSchedule({ warmupTemp: c.warmupTeacherTemp, temp: c.teacherTemp, warmupEpochs: Math.min(c.warmupTeacherTempEpochs, c.epochs), epochs: c.epochs }),
})

/**
 * The class tokens of every crop group (one backbone pass per resolution),
 * concatenated in order, through the projection head in one call, as DINO's
 * `MultiCropWrapper` does (a BatchNorm head sees all crops' statistics).
 */
const project = (model: VitModel, head: DinoHead, groups: ReadonlyArray<tf.Tensor>): tf.Tensor => {
  const tokens = groups.map((images) => poolClassToken(forwardFeatures(model, images)))
  return dinoHeadForward(head, tokens.length === 1 ? (tokens[0] as tf.Tensor) : tf.concat(tokens, 0))
}

/** Runs one step on a batch's multi-crop views (0-1 global, 2.. local); returns the loss. */
export const dinoStep = (
  n: DinoNetworks,
  c: DinoPretrainConfig,
  views: ReadonlyArray<ImageBatch>,
  epoch: number,
  globalStep: number,
  s: DinoSchedules,
): number =>
  tf.tidy(() => {
    const tensors = views.map((v) => imagesToTensor(v))
    const globals = tf.concat(tensors.slice(0, 2), 0)
    const locals = tensors.length > 2 ? tf.concat(tensors.slice(2), 0) : undefined
    const teacherOut = project(n.teacher, n.teacherHead, [globals])
    const names = new Map([...n.trainable].map(([k, v]) => [v.name, k]))
    const { value, grads } = tf.variableGrads(() => {
      const student = project(n.student, n.studentHead, locals === undefined ? [globals] : [globals, locals])
      return dinoLoss(student, teacherOut, n.center, {
        studentViews: views.length,
        teacherTemp: s.teacherTemp.at(epoch),
        studentTemp: c.studentTemp,
      })
    }, [...n.trainable.values()])
    const frozen = epoch < c.freezeLastLayerEpochs
    const byName = new Map(
      Object.entries(grads).flatMap(([varName, g]) => {
        const name = names.get(varName)
        return name === undefined || (frozen && name.startsWith("head.last_layer.")) ? [] : [[name, g] as const]
      }),
    )
    const clipped = clipPerParameter(byName, c.clipGrad)
    n.optimizer.step(clipped, s.lr.at(globalStep), s.weightDecay.at(globalStep))
    n.center.assign(updateCenter(n.center, teacherOut, c.centerMomentum))
    emaUpdate(n.teacherParams, n.studentParams, s.momentum.at(globalStep))
    return value.dataSync()[0] ?? Number.NaN
  })
