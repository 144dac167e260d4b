/**
 * Sum, Mean, Max and Min over a contiguous block of axes (the last axis,
 * the first, or any run between): the input is viewed as [outer, mid, inner]
 * and reduced over mid. Scattered axis sets go to the cpu kernel.
 */
import * as tf from "@tensorflow/tfjs-core"
import { f32Values, type NativeKernel } from "../backend.ts"

/** The sorted, non-negative axes of an `axis` attribute (a number, a list, or absent for all). */
const reductionAxes = (attr: tf.NamedAttrMap[string] | undefined, rank: number): Array<number> | undefined => {
  const list = attr === undefined || attr === null ? Array.from({ length: rank }, (_, i) => i)
    : typeof attr === "number" ? [attr]
    : Array.isArray(attr) && attr.every((a): a is number => typeof a === "number") ? attr
    : undefined
  if (list === undefined || list.some((a) => a < -rank || a >= rank)) return undefined
  return [...new Set(list.map((a) => (a < 0 ? a + rank : a)))].sort((p, q) => p - q)
}

/** `axisAttr`: the attribute naming the axes (`axis`; Max's is `reductionIndices`). */
const reduceKernel = (kind: number, axisAttr = "axis"): NativeKernel => (inputs, attrs, backend) => {
  const x = inputs["x"]
  const xv = f32Values(backend, x)
  if (x === undefined || xv === undefined || xv.length === 0) return undefined
  const axes = reductionAxes(attrs[axisAttr], x.shape.length)
  if (axes === undefined) return undefined
  const first = axes[0]
  const lastAxis = axes[axes.length - 1]
  if (first === undefined || lastAxis === undefined || lastAxis - first + 1 !== axes.length) return undefined
  const size = (from: number, to: number) => x.shape.slice(from, to).reduce((p, d) => p * d, 1)
  const outer = size(0, first)
  const mid = size(first, lastAxis + 1)
  const inner = size(lastAxis + 1, x.shape.length)
  const out = backend.output(outer * inner)
  backend.addon.reduce(kind, xv, out, outer, mid, inner)
  const keepDims = attrs["keepDims"] === true
  const shape = keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i))
  return backend.makeTensorInfo(shape, "float32", out)
}

export const reduceKernels: ReadonlyArray<readonly [string, NativeKernel]> = [
  [tf.Sum, reduceKernel(0)],
  [tf.Mean, reduceKernel(1)],
  [tf.Max, reduceKernel(2, "reductionIndices")],
  [tf.Min, reduceKernel(3)],
]
