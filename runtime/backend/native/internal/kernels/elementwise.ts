/**
 * Elementwise kernels: broadcasting binary ops (Add, Sub, Multiply, RealDiv,
 * SquaredDifference, Maximum, Minimum) and unary float ops (Erf, Exp, ...).
 * Broadcasts are passed as per-axis strides (0 on broadcast axes) after
 * merging adjacent axes that are laid out alike, so the native inner loop
 * runs over the longest contiguous stretch.
 */
import * as tf from "@tensorflow/tfjs-core"
import { f32Values, type NativeKernel } from "../backend.ts"

/** Op codes of native/src/kernels.h `BinaryOp`, in order. */
const binaryOps = [tf.Add, tf.Sub, tf.Multiply, tf.RealDiv, tf.SquaredDifference, tf.Maximum, tf.Minimum] as const
/** Op codes of native/src/kernels.h `UnaryOp`, in order. */
const unaryOps = [tf.Erf, tf.Exp, tf.Log, tf.Neg, tf.Rsqrt, tf.Sqrt, tf.Square, tf.Reciprocal, tf.Abs, tf.Tanh, tf.Sigmoid, tf.Relu] as const

/** Row-major strides of `shape` as read through a broadcast to `out` (right-aligned), 0 where broadcast. */
const broadcastStrides = (shape: ReadonlyArray<number>, out: ReadonlyArray<number>): Array<number> => {
  const strides = new Array<number>(out.length).fill(0)
  let s = 1
  for (let i = shape.length - 1; i >= 0; i--) {
    const d = shape[i]!
    const j = out.length - shape.length + i
    strides[j] = d === 1 ? 0 : s
    s *= d
  }
  return strides
}

/** Drops size-1 axes and merges neighbours whose strides continue each other in both operands. */
export const mergeAxes = (
  shape: ReadonlyArray<number>,
  sa: ReadonlyArray<number>,
  sb: ReadonlyArray<number>,
): { shape: Array<number>; sa: Array<number>; sb: Array<number> } => {
  const out = { shape: [] as Array<number>, sa: [] as Array<number>, sb: [] as Array<number> }
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i]!
    if (d === 1) continue
    const last = out.shape.length - 1
    if (last >= 0 && out.sa[last] === sa[i]! * d && out.sb[last] === sb[i]! * d) {
      out.shape[last] = out.shape[last]! * d
      out.sa[last] = sa[i]!
      out.sb[last] = sb[i]!
    } else {
      out.shape.push(d)
      out.sa.push(sa[i]!)
      out.sb.push(sb[i]!)
    }
  }
  return out
}

const binaryKernel = (code: number): NativeKernel => (inputs, _attrs, backend) => {
  const { a, b } = inputs
  const av = f32Values(backend, a)
  const bv = f32Values(backend, b)
  if (a === undefined || b === undefined || av === undefined || bv === undefined || av.length === 0 || bv.length === 0) {
    return undefined
  }
  const shape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape)
  const merged = mergeAxes(shape, broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape))
  const out = backend.output(tf.util.sizeFromShape(shape))
  backend.addon.binary(code, av, bv, out, merged.shape, merged.sa, merged.sb)
  return backend.makeTensorInfo(shape, "float32", out)
}

const unaryKernel = (code: number): NativeKernel => (inputs, _attrs, backend) => {
  const x = inputs["x"]
  const xv = f32Values(backend, x)
  if (x === undefined || xv === undefined) return undefined
  const out = backend.output(xv.length)
  backend.addon.unary(code, xv, out)
  return backend.makeTensorInfo(x.shape, "float32", out)
}

export const elementwiseKernels: ReadonlyArray<readonly [string, NativeKernel]> = [
  ...binaryOps.map((name, code) => [name, binaryKernel(code)] as const),
  ...unaryOps.map((name, code) => [name, unaryKernel(code)] as const),
]
