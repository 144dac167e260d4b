/**
 * Frozen features of a teacher for k-NN evaluation (DINO's `eval_knn.py`):
 * the final normed class token (`forwardHead(..., { preLogits: true })`), or
 * the mean of the final normed patch tokens (MAE's `global_pool="avg"`),
 * copied to host memory batch by batch.
 */
import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import type { Loader } from "../../../datasets/loader.ts"
import { asSource, type BatchSource } from "../../../datasets/source.ts"
import { forwardFeatures, forwardHead } from "../../../models/vit/forward.ts"
import type { VitModel } from "../../../models/vit/model.ts"
import type { TeacherInfo } from "../../../teachers/artifact.ts"
import { teacherInput } from "../../../teachers/inputs.ts"

export type Pooling = "cls" | "mean-patch"

/** Features [N, D] of every image the (unshuffled) loader or source yields, in order. */
export const extractFeatures = (model: VitModel, info: TeacherInfo, loader: Loader | BatchSource, count: number, pooling: Pooling) => {
  const source = asSource(loader)
  return Effect.gen(function* () {
    const d = model.config.embedDim
    const out = new Float32Array(count * d)
    let at = 0
    for (let b = 0; b < source.batchesPerEpoch; b++) {
      const batch = yield* source.batch(0, b)
      const feats = tf.tidy(() => {
        const tokens = forwardFeatures(model, teacherInput(batch.images, info))
        if (pooling === "cls") return forwardHead(model, tokens, { preLogits: true })
        const [n = 0, t = 0] = tokens.shape
        return tf.mean(tf.slice(tokens, [0, 1, 0], [n, t - 1, d]), 1)
      })
      out.set(feats.dataSync(), at)
      at += feats.size
      feats.dispose()
      yield* Effect.yieldNow
    }
    return out
  }).pipe(Effect.ensuring(source.release))
}
