/**
 * `BatchMatMul` on oneDNN: every transposeA/transposeB combination (described
 * to oneDNN by strides, no copy), batch dims equal or one side broadcast.
 * f32 by default; bf16 inputs with f32 accumulation when the backend's
 * `matmulPrecision` is "bf16" (AVX512-BF16 / AMX where the CPU has them).
 */
import * as tf from "@tensorflow/tfjs-core"
import { f32Values, type NativeKernel } from "../backend.ts"

const prod = (xs: ReadonlyArray<number>): number => xs.reduce((p, x) => p * x, 1)
const sameDims = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i])

const batchMatMul: NativeKernel = (inputs, attrs, backend) => {
  const { a, b } = inputs
  const av = f32Values(backend, a)
  const bv = f32Values(backend, b)
  if (a === undefined || b === undefined || av === undefined || bv === undefined || a.shape.length < 2 || b.shape.length < 2) {
    return undefined
  }
  const transA = attrs["transposeA"] === true
  const transB = attrs["transposeB"] === true
  const ra = a.shape.length
  const rb = b.shape.length
  const m = transA ? a.shape[ra - 1]! : a.shape[ra - 2]!
  const k = transA ? a.shape[ra - 2]! : a.shape[ra - 1]!
  const kb = transB ? b.shape[rb - 1]! : b.shape[rb - 2]!
  const n = transB ? b.shape[rb - 2]! : b.shape[rb - 1]!
  if (k !== kb) return undefined // the cpu kernel throws tfjs's own shape error
  const outerA = a.shape.slice(0, -2)
  const outerB = b.shape.slice(0, -2)
  const batchA = prod(outerA)
  const batchB = prod(outerB)
  // Equal batch dims, or one side without batch (size 1): anything else goes to the cpu kernel.
  const outer = batchB === 1 && outerA.length >= outerB.length ? outerA
    : batchA === 1 && outerB.length >= outerA.length ? outerB
    : sameDims(outerA, outerB) ? outerA
    : undefined
  if (outer === undefined) return undefined
  const length = prod(outer) * m * n
  const out = k > 0 ? backend.output(length) : new Float32Array(length) // k = 0: a product of empty sums is 0
  if (length > 0 && k > 0) {
    backend.addon.matmul(av, bv, out, batchA, batchB, m, k, n, transA, transB, backend.matmulPrecision === "bf16")
  }
  return backend.makeTensorInfo([...outer, m, n], "float32", out)
}

export const matmulKernels: ReadonlyArray<readonly [string, NativeKernel]> = [[tf.BatchMatMul, batchMatMul]]
