/**
 * The fused attention core (SslKdAttention, native/src/attention.cc) against
 * the composite ops it replaces (split, scale, q·kᵀ, softmax, A·v, merge, on
 * the same native backend), forward + backward, CPU ms per call (steadier
 * than wall time on a loaded machine), interleaved.
 *
 *   SSL_KD_NATIVE_THREADS=1 node --import tsx test/bench/attentionCore.bench.ts [batch] [tokens] [width] [heads]
 */
import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import { matmulT } from "../../plugins/models/ops/matmul.ts"
import { selectBackend } from "../../runtime/backend/TensorBackend.ts"
import { fusedKernelNames } from "../../runtime/backend/kernels.ts"
import "../../plugins/models/ops/attention.ts"

const [b, n, d, h] = [128, 50, 72, 3].map((v, i) => Number(process.argv[2 + i] ?? v)) as [number, number, number, number]
await Effect.runPromise(selectBackend({ flag: "native", env: undefined }))
const dh = d / h
const qkv = tf.randomNormal([b, n, 3 * d], 0, 1, "float32", 1)
const probe = tf.randomNormal([b, n, d], 0, 1, "float32", 2)
const composite = (x: tf.Tensor): tf.Tensor => {
  const t = tf.transpose(tf.reshape(x, [b, n, 3 * h, dh]), [0, 2, 1, 3])
  const [q, k, v] = tf.split(t, 3, 1) as [tf.Tensor, tf.Tensor, tf.Tensor]
  const attn = tf.softmax(matmulT(tf.mul(q, dh ** -0.5), k, false, true))
  return tf.reshape(tf.transpose(matmulT(attn, v, false, false), [0, 2, 1, 3]), [b, n, d])
}
const fused = (x: tf.Tensor): tf.Tensor => (tf.engine().runKernel(fusedKernelNames.attention, { qkv: x }, { heads: h, scale: dh ** -0.5 }) as Array<tf.Tensor>)[0]!
const cost = (f: (x: tf.Tensor) => tf.Tensor, reps = 10): { fwd: number; train: number } => {
  const time = (g: () => void): number => {
    g()
    const c = process.cpuUsage()
    for (let i = 0; i < reps; i++) g()
    const u = process.cpuUsage(c)
    return (u.user + u.system) / 1000 / reps
  }
  return {
    fwd: time(() => tf.tidy(() => void f(qkv).dataSync())),
    train: time(() => tf.tidy(() => void tf.grad((x: tf.Tensor) => tf.sum(tf.mul(f(x), probe)) as tf.Scalar)(qkv).dataSync())),
  }
}
for (let round = 0; round < 3; round++) {
  const c = cost(composite)
  const f = cost(fused)
  console.log(`[${b}, ${n}, ${d}] ${h} heads: composite fwd ${c.fwd.toFixed(1)} ms, fwd+bwd ${c.train.toFixed(1)} ms; fused fwd ${f.fwd.toFixed(1)} ms, fwd+bwd ${f.train.toFixed(1)} ms (CPU)`)
}
