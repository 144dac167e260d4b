/**
 * DINO's gradient clipping (`utils.clip_gradients` in facebookresearch/dino,
 * `--clip_grad 3.0`): each parameter's gradient is scaled by
 * `min(1, c / (‖g‖₂ + 1e-6))` on its own (per tensor, not globally).
 */
import * as tf from "@tensorflow/tfjs-core"

/** New gradients, each clipped to norm `maxNorm`; `maxNorm` <= 0 returns copies unchanged. Caller disposes. */
export const clipPerParameter = (grads: ReadonlyMap<string, tf.Tensor>, maxNorm: number): Map<string, tf.Tensor> =>
  new Map(
    [...grads].map(([name, g]) => [
      name,
      tf.tidy(() => {
        if (!(maxNorm > 0)) return tf.clone(g)
        const coef = tf.minimum(tf.div(maxNorm, tf.add(tf.norm(g), 1e-6)), 1)
        return tf.mul(g, coef)
      }),
    ]),
  )
