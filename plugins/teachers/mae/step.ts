/**
 * One MAE training step (He et al. 2022, sec. 3): encode the visible 25 %,
 * decode every patch, and minimise the mean squared error on the (per-patch
 * normalized) pixels of the MASKED patches only (`maeLoss`), with AdamW at
 * the scheduled learning rate.
 */
import * as tf from "@tensorflow/tfjs-core"
import type { Batch } from "../../datasets/loader.ts"
import { imagesToTensor } from "../../datasets/tensors.ts"
import { maeLoss, maskTensor } from "../../objectives/mae.ts"
import type { Schedule } from "../../objectives/schedules.ts"
import type { MaePretrainConfig } from "./config.ts"
import { maeForward } from "./forward.ts"
import type { MaeNetworks } from "./networks.ts"

/** Runs one step on a masked batch; returns the loss. Throws when the batch carries no mask. */
export const maeStep = (n: MaeNetworks, c: MaePretrainConfig, batch: Batch, globalStep: number, lr: Schedule): number => {
  const m = batch.mask
  if (m === undefined) throw new TypeError("MAE step: the batch has no patch mask (the loader needs the `masked` augmentation)")
  return tf.tidy(() => {
    const images = imagesToTensor(batch.images)
    const mask = maskTensor(m)
    const names = new Map([...n.trainable].map(([k, v]) => [v.name, k]))
    const { value, grads } = tf.variableGrads(
      () => maeLoss(images, maeForward(n, images, m.mask, m.keep), mask, { patchSize: m.patchSize, normPixLoss: c.normPixLoss }),
      [...n.trainable.values()],
    )
    const byName = new Map(Object.entries(grads).flatMap(([varName, g]) => {
      const name = names.get(varName)
      return name === undefined ? [] : [[name, g] as const]
    }))
    n.optimizer.step(byName, lr.at(globalStep), c.weightDecay)
    return value.dataSync()[0] ?? Number.NaN
  })
}
