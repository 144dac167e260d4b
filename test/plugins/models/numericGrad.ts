/** Central finite differences, (f(x+h) - f(x-h)) / 2h, of a scalar function of one tensor. */
import * as tf from "@tensorflow/tfjs-core"

export const numericGrad = (f: (x: tf.Tensor) => tf.Scalar, x: tf.Tensor, h: number): Float32Array => {
  const base = x.dataSync()
  const out = new Float32Array(base.length)
  for (let i = 0; i < base.length; i++) {
    const at = (delta: number): number =>
      tf.tidy(() => {
        const v = Float32Array.from(base)
        v[i] = (v[i] ?? 0) + delta
        return f(tf.tensor(v, x.shape)).dataSync()[0] ?? NaN
      })
    out[i] = (at(h) - at(-h)) / (2 * h)
  }
  return out
}
