/**
 * Stop-gradient (PyTorch's `.detach()`, JAX's `lax.stop_gradient`): the
 * identity in the forward pass, a zero gradient in the backward pass. DINO
 * needs it on the teacher's side of the loss (Caron et al. 2021, Algorithm 1:
 * `t1.detach()`), the KD terms on every teacher output (paper, sec. 3.4).
 */
import * as tf from "@tensorflow/tfjs-core"

const detached = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [x] = args
  if (!(x instanceof tf.Tensor)) throw new TypeError("stopGradient: expected a tensor")
  return { value: tf.clone(x), gradFunc: (dy: tf.Tensor) => [tf.zerosLike(dy)] }
})

/** `x` with no gradient flowing back through it. */
export const stopGradient = (x: tf.Tensor): tf.Tensor => detached(x)
