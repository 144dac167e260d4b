/**
 * SplitV and Concat as block copies (`TypedArray.set` of `subarray`s, i.e.
 * memcpy) over the view [outer, axis, inner]; tfjs-backend-cpu slices
 * element by element, which made the attention's qkv split the slowest
 * kernel of a ViT step. No addon call needed.
 */
import * as tf from "@tensorflow/tfjs-core"
import { f32Values, type NativeBackend, type NativeKernel } from "../backend.ts"

const size = (shape: ReadonlyArray<number>, from: number, to: number): number =>
  shape.slice(from, to).reduce((p, d) => p * d, 1)

const axisOf = (attr: tf.NamedAttrMap[string] | undefined, rank: number): number | undefined => {
  const a = Array.isArray(attr) ? attr[0] : attr
  if (typeof a !== "number" || a < -rank || a >= rank) return undefined
  return a < 0 ? a + rank : a
}

const splitV: NativeKernel = (inputs, attrs, backend) => {
  const x = inputs["x"]
  const xv = f32Values(backend, x)
  const split = attrs["numOrSizeSplits"]
  if (x === undefined || xv === undefined) return undefined
  const axis = axisOf(attrs["axis"], x.shape.length)
  const list = typeof split === "number" ? split
    : Array.isArray(split) ? split.filter((s): s is number => typeof s === "number")
    : undefined
  if (axis === undefined || list === undefined) return undefined
  const sizes = tf.backend_util.prepareSplitSize(x, list, axis)
  return splitInto(backend, xv, x.shape, axis, sizes)
}

const splitInto = (backend: NativeBackend, xv: Float32Array, shape: ReadonlyArray<number>, axis: number, sizes: ReadonlyArray<number>) => {
  const outer = size(shape, 0, axis)
  const inner = size(shape, axis + 1, shape.length)
  const row = shape[axis]! * inner
  let offset = 0
  return sizes.map((s) => {
    const len = s * inner
    const out = backend.output(outer * len)
    for (let o = 0; o < outer; o++) out.set(xv.subarray(o * row + offset, o * row + offset + len), o * len)
    offset += len
    return backend.makeTensorInfo(shape.map((d, i) => (i === axis ? s : d)), "float32", out)
  })
}

const concat: NativeKernel = (named, attrs, backend) => {
  const inputs = Object.values(named) // tfjs passes Concat's inputs as an array
  const first = inputs[0]
  if (first === undefined) return undefined
  const rank = first.shape.length
  const axis = axisOf(attrs["axis"], rank)
  const values = inputs.map((t) => f32Values(backend, t))
  if (axis === undefined || values.some((v) => v === undefined)) return undefined
  const same = inputs.every((t) => t !== undefined && t.shape.length === rank && t.shape.every((d, i) => i === axis || d === first.shape[i]))
  if (!same) return undefined
  const outer = size(first.shape, 0, axis)
  const inner = size(first.shape, axis + 1, rank)
  const lens = inputs.map((t) => (t?.shape[axis] ?? 0) * inner)
  const row = lens.reduce((p, l) => p + l, 0)
  const out = backend.output(outer * row)
  let offset = 0
  inputs.forEach((_, j) => {
    const v = values[j]!
    const len = lens[j]!
    for (let o = 0; o < outer; o++) out.set(v.subarray(o * len, (o + 1) * len), o * row + offset)
    offset += len
  })
  return backend.makeTensorInfo(first.shape.map((d, i) => (i === axis ? row / inner : d)), "float32", out)
}

export const concatKernels: ReadonlyArray<readonly [string, NativeKernel]> = [
  [tf.SplitV, splitV],
  [tf.Concat, concat],
]
