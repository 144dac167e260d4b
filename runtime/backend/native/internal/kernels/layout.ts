/** Transpose (any permutation) and Softmax (last axis) on the addon. */
import * as tf from "@tensorflow/tfjs-core"
import { f32Values, type NativeKernel } from "../backend.ts"

const transpose: NativeKernel = (inputs, attrs, backend) => {
  const x = inputs["x"]
  const xv = f32Values(backend, x)
  const perm = attrs["perm"]
  if (x === undefined || xv === undefined || xv.length === 0 || x.shape.length < 2 || !Array.isArray(perm) || perm.length !== x.shape.length) {
    return undefined
  }
  const p = perm.map(Number)
  const out = backend.output(xv.length)
  backend.addon.transpose(xv, out, x.shape, p)
  return backend.makeTensorInfo(p.map((i) => x.shape[i]!), "float32", out)
}

const softmax: NativeKernel = (inputs, attrs, backend) => {
  const x = inputs["logits"]
  const xv = f32Values(backend, x)
  const dim = attrs["dim"]
  const rank = x?.shape.length ?? 0
  if (x === undefined || xv === undefined || xv.length === 0 || (dim !== -1 && dim !== rank - 1)) return undefined
  const out = backend.output(xv.length)
  backend.addon.softmax(xv, out, x.shape[rank - 1]!)
  return backend.makeTensorInfo(x.shape, "float32", out)
}

export const transposeKernels: ReadonlyArray<readonly [string, NativeKernel]> = [[tf.Transpose, transpose]]
export const softmaxKernels: ReadonlyArray<readonly [string, NativeKernel]> = [[tf.Softmax, softmax]]
