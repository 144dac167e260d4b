/**
 * Elementwise kernels: broadcasting binary ops (Add, Sub, Multiply, RealDiv,
 * SquaredDifference, Maximum, Minimum), unary float ops (Erf, Exp, ...) and
 * comparisons (Greater, Equal, ...; same shapes or a scalar operand).
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

/**
 * Comparisons of float32 tensors of one shape, or of a tensor and a
 * one-element operand (Maximum's and Minimum's gradients compare with the
 * clamp value), as a plain loop into a bool (Uint8Array) tensor. The cpu
 * kernel broadcasts a scalar through per-element index arithmetic: 12 ms
 * for the [64, 1, 50, 50] mask of each attention-KD term's clamp, against
 * ~0.2 ms here. Other broadcasts go to the cpu kernel.
 */
const comparisons: ReadonlyArray<readonly [string, (x: number, y: number) => boolean]> = [
  [tf.Greater, (x, y) => x > y],
  [tf.GreaterEqual, (x, y) => x >= y],
  [tf.Less, (x, y) => x < y],
  [tf.LessEqual, (x, y) => x <= y],
  [tf.Equal, (x, y) => x === y],
  [tf.NotEqual, (x, y) => x !== y],
]

const compareKernel = (test: (x: number, y: number) => boolean): NativeKernel => (inputs, _attrs, backend) => {
  const { a, b } = inputs
  const av = f32Values(backend, a)
  const bv = f32Values(backend, b)
  if (a === undefined || b === undefined || av === undefined || bv === undefined) return undefined
  const sameShape = tf.util.arraysEqual(a.shape, b.shape)
  if (!sameShape && bv.length !== 1 && av.length !== 1) return undefined
  const shape = sameShape ? a.shape : tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape)
  const out = new Uint8Array(tf.util.sizeFromShape(shape))
  if (sameShape) for (let i = 0; i < out.length; i++) out[i] = test(av[i]!, bv[i]!) ? 1 : 0
  else if (bv.length === 1) {
    const y = bv[0]!
    for (let i = 0; i < out.length; i++) out[i] = test(av[i]!, y) ? 1 : 0
  } else {
    const x = av[0]!
    for (let i = 0; i < out.length; i++) out[i] = test(x, bv[i]!) ? 1 : 0
  }
  return backend.makeTensorInfo(shape, "bool", out)
}

/**
 * Pow of a float32 tensor by a one-element float32 exponent (tf.norm's
 * square and its gradient's x^1), as a loop; 2 and 1 exactly as x·x and x.
 * The cpu kernel's scalar broadcast took 50-80 ms per call on the DINO
 * head's [4096, 256] weight. Other shapes go to the cpu kernel.
 */
const powKernel: NativeKernel = (inputs, _attrs, backend) => {
  const { a, b } = inputs
  const av = f32Values(backend, a)
  const bv = f32Values(backend, b)
  if (a === undefined || b === undefined || av === undefined || bv === undefined || bv.length !== 1 || b.shape.length > a.shape.length) return undefined
  const e = bv[0]!
  const out = backend.output(av.length)
  if (e === 2) for (let i = 0; i < av.length; i++) out[i] = av[i]! * av[i]!
  else if (e === 1) out.set(av)
  else for (let i = 0; i < av.length; i++) out[i] = Math.pow(av[i]!, e)
  return backend.makeTensorInfo(a.shape, "float32", out)
}

export const elementwiseKernels: ReadonlyArray<readonly [string, NativeKernel]> = [
  [tf.Pow, powKernel],
  ...binaryOps.map((name, code) => [name, binaryKernel(code)] as const),
  ...unaryOps.map((name, code) => [name, unaryKernel(code)] as const),
  ...comparisons.map(([name, test]) => [name, compareKernel(test)] as const),
]
