/**
 * SplitV, Concat, Slice (strided) and PadV2 as block copies (`TypedArray.set` of `subarray`s, i.e.
 * memcpy) over the view [outer, axis, inner]; tfjs-backend-cpu slices
 * element by element, which made the attention's qkv split the slowest
 * kernel of a ViT step (and slices one element at a time: the class-token
 * slice and its PadV2 gradient took 15-20 ms of a ViT-Ti step). No addon call needed.
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

/**
 * Visits the copies of a block copy: `shape` the copied region's extent, with
 * the trailing axes from `k` on copied as one run of `run` elements; calls
 * `f(src, dst)` with the run's offsets for source and destination strides.
 */
const eachRun = (
  shape: ReadonlyArray<number>,
  k: number,
  srcStrides: ReadonlyArray<number>,
  dstStrides: ReadonlyArray<number>,
  f: (src: number, dst: number) => void,
): void => {
  const idx = new Array<number>(k).fill(0)
  const count = size(shape, 0, k)
  for (let i = 0; i < count; i++) {
    let src = 0
    let dst = 0
    for (let d = 0; d < k; d++) {
      src += idx[d]! * srcStrides[d]!
      dst += idx[d]! * dstStrides[d]!
    }
    f(src, dst)
    for (let d = k - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break
      idx[d] = 0
    }
  }
}

const stridesOf = (shape: ReadonlyArray<number>): Array<number> => {
  const s = new Array<number>(shape.length).fill(1)
  for (let d = shape.length - 2; d >= 0; d--) s[d] = s[d + 1]! * shape[d + 1]!
  return s
}

/** Strided slices (the contiguous ones go to the cpu kernel, which returns a view without copying). */
const slice: NativeKernel = (inputs, attrs, backend) => {
  const x = inputs["x"]
  const xv = f32Values(backend, x)
  if (x === undefined || xv === undefined || x.shape.length === 0) return undefined
  const [begin, sz] = tf.slice_util.parseSliceParams(x, attrs["begin"] as Array<number>, attrs["size"] as Array<number>)
  if (begin === undefined || sz === undefined || tf.slice_util.isSliceContinous(x.shape, begin, sz) || sz.some((d) => d === 0)) return undefined
  const r = x.shape.length
  let k = r - 1 // the last axis the slice cuts; axes after it are copied whole
  while (k > 0 && sz[k] === x.shape[k]) k--
  const xs = stridesOf(x.shape)
  const os = stridesOf(sz)
  const run = sz[k]! * size(sz, k + 1, r)
  const base = begin.reduce((p, b, d) => p + b * xs[d]!, 0)
  const out = backend.output(size(sz, 0, r))
  eachRun(sz, k, xs, os, (src, dst) => out.set(xv.subarray(base + src, base + src + run), dst))
  return backend.makeTensorInfo(sz, "float32", out)
}

/** Constant padding: fill, then the input's runs copied into place. */
const padV2: NativeKernel = (inputs, attrs, backend) => {
  const x = inputs["x"]
  const xv = f32Values(backend, x)
  const paddings = attrs["paddings"]
  const value = attrs["constantValue"]
  if (x === undefined || xv === undefined || x.shape.length === 0 || xv.length === 0 || !Array.isArray(paddings) || typeof value !== "number") return undefined
  const pads = paddings.map((p) => (Array.isArray(p) ? p.map(Number) : [Number.NaN, Number.NaN]))
  if (pads.length !== x.shape.length || pads.some((p) => !(p[0]! >= 0 && p[1]! >= 0))) return undefined
  const r = x.shape.length
  const outShape = x.shape.map((d, i) => pads[i]![0]! + d + pads[i]![1]!)
  let k = r - 1 // the last padded axis; axes after it are copied whole
  while (k > 0 && pads[k]![0] === 0 && pads[k]![1] === 0) k--
  const xs = stridesOf(x.shape)
  const os = stridesOf(outShape)
  const run = x.shape[k]! * size(x.shape, k + 1, r)
  const base = pads.reduce((p, [before], d) => p + before! * os[d]!, 0)
  const out = backend.output(size(outShape, 0, r))
  out.fill(value)
  eachRun(x.shape, k, xs, os, (src, dst) => out.set(xv.subarray(src, src + run), base + dst))
  return backend.makeTensorInfo(outShape, "float32", out)
}

export const concatKernels: ReadonlyArray<readonly [string, NativeKernel]> = [
  [tf.SplitV, splitV],
  [tf.Concat, concat],
  [tf.Slice, slice],
  [tf.PadV2, padV2],
]
