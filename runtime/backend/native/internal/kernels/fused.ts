/**
 * The fused kernels of runtime/backend/kernels.ts on the addon. Each is registered only
 * when the loaded addon exports its function (an addon built before them
 * lacks them; model code then keeps its composite path). Inputs are float32
 * (model code checks before calling); shapes are validated by the addon.
 */
import * as tf from "@tensorflow/tfjs-core"
import { fusedKernelNames as names } from "../../../kernels.ts"
import type { NativeAddon } from "../addon.ts"
import { f32Values, type NativeBackend } from "../backend.ts"

type FusedKernel = (inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap, backend: NativeBackend) => tf.TensorInfo | Array<tf.TensorInfo>

const values = (backend: NativeBackend, t: tf.TensorInfo | undefined, what: string): Float32Array => {
  const v = f32Values(backend, t)
  if (v === undefined) throw new TypeError(`native fused kernel: ${what} must be a float32 tensor`)
  return v
}

const num = (attrs: tf.NamedAttrMap, name: string): number => {
  const v = attrs[name]
  if (typeof v !== "number") throw new TypeError(`native fused kernel: attribute ${name} must be a number`)
  return v
}

const lastDim = (t: tf.TensorInfo): number => t.shape[t.shape.length - 1] ?? 1

const layerNorm: FusedKernel = (inputs, attrs, backend) => {
  const x = inputs["x"]!
  const cols = lastDim(x)
  const xv = values(backend, x, "x")
  const rows = xv.length / cols
  const y = backend.output(xv.length)
  const mean = backend.output(rows)
  const rstd = backend.output(rows)
  backend.addon.layerNorm!(xv, values(backend, inputs["gamma"], "gamma"), values(backend, inputs["beta"], "beta"), y, mean, rstd, cols, num(attrs, "eps"))
  const rowShape = x.shape.slice(0, -1)
  return [backend.makeTensorInfo(x.shape, "float32", y), backend.makeTensorInfo(rowShape, "float32", mean), backend.makeTensorInfo(rowShape, "float32", rstd)]
}

const layerNormGrad: FusedKernel = (inputs, _attrs, backend) => {
  const x = inputs["x"]!
  const gamma = inputs["gamma"]!
  const cols = lastDim(x)
  const xv = values(backend, x, "x")
  const dx = backend.output(xv.length)
  const dgamma = backend.output(cols)
  const dbeta = backend.output(cols)
  backend.addon.layerNormGrad!(values(backend, inputs["dy"], "dy"), xv, values(backend, gamma, "gamma"), values(backend, inputs["mean"], "mean"),
    values(backend, inputs["rstd"], "rstd"), dx, dgamma, dbeta, cols)
  return [backend.makeTensorInfo(x.shape, "float32", dx), backend.makeTensorInfo(gamma.shape, "float32", dgamma), backend.makeTensorInfo(gamma.shape, "float32", dbeta)]
}

const gelu: FusedKernel = (inputs, _attrs, backend) => {
  const x = inputs["x"]!
  const xv = values(backend, x, "x")
  const y = backend.output(xv.length)
  backend.addon.gelu!(xv, y)
  return backend.makeTensorInfo(x.shape, "float32", y)
}

const geluGrad: FusedKernel = (inputs, _attrs, backend) => {
  const x = inputs["x"]!
  const xv = values(backend, x, "x")
  const dx = backend.output(xv.length)
  backend.addon.geluGrad!(values(backend, inputs["dy"], "dy"), xv, dx)
  return backend.makeTensorInfo(x.shape, "float32", dx)
}

const softmaxGrad: FusedKernel = (inputs, _attrs, backend) => {
  const y = inputs["y"]!
  const yv = values(backend, y, "y")
  const dx = backend.output(yv.length)
  backend.addon.softmaxGrad!(yv, values(backend, inputs["dy"], "dy"), dx, lastDim(y))
  return backend.makeTensorInfo(y.shape, "float32", dx)
}

const adamw: FusedKernel = (inputs, attrs, backend) => {
  const p = inputs["p"]!
  const pv = values(backend, p, "p")
  const [po, mo, vo] = [backend.output(pv.length), backend.output(pv.length), backend.output(pv.length)]
  backend.addon.adamw!(pv, values(backend, inputs["g"], "g"), values(backend, inputs["m"], "m"), values(backend, inputs["v"], "v"), po, mo, vo,
    num(attrs, "beta1"), num(attrs, "beta2"), num(attrs, "eps"), num(attrs, "lr"), num(attrs, "c1"), num(attrs, "c2"), num(attrs, "weightDecay"))
  return [po, mo, vo].map((v) => backend.makeTensorInfo(p.shape, "float32", v))
}

/** y = x · weightᵀ + bias for x [rows, in], weight [out, in] (PyTorch layout, read transposed by strides), bias [out]. */
const linear: FusedKernel = (inputs, _attrs, backend) => {
  const x = inputs["x"]!
  const w = inputs["weight"]!
  const [rows, inF] = x.shape
  const [outF, wIn] = w.shape
  if (x.shape.length !== 2 || w.shape.length !== 2 || rows === undefined || outF === undefined || inF === undefined || inF !== wIn || rows < 1 || inF < 1 || outF < 1) {
    throw new TypeError(`native fused kernel ${names.linear}: x [${x.shape.join(", ")}] does not fit weight [${w.shape.join(", ")}]`)
  }
  const y = backend.output(rows * outF)
  backend.addon.matmulBias!(values(backend, x, "x"), values(backend, w, "weight"), values(backend, inputs["bias"], "bias"), y, 1, 1, rows, inF, outF,
    false, true, backend.matmulPrecision === "bf16")
  return backend.makeTensorInfo([rows, outF], "float32", y)
}

/** [batch, tokens, heads, dh] of a qkv input [B, N, 3·H·Dh] split into `heads` heads; throws on a shape that does not split. */
const attentionDims = (qkv: tf.TensorInfo, attrs: tf.NamedAttrMap, op: string): [number, number, number, number] => {
  const [b, n, w] = qkv.shape
  const heads = num(attrs, "heads")
  if (qkv.shape.length !== 3 || b === undefined || n === undefined || w === undefined || !Number.isInteger(heads) || heads < 1 || w % (3 * heads) !== 0 || b * n * w === 0) {
    throw new TypeError(`native fused kernel ${op}: qkv [${qkv.shape.join(", ")}] is not [batch, tokens, 3 · ${heads} heads · head width]`)
  }
  return [b, n, heads, w / (3 * heads)]
}

const attention: FusedKernel = (inputs, attrs, backend) => {
  const qkv = inputs["qkv"]!
  const [b, n, h, dh] = attentionDims(qkv, attrs, names.attention)
  const out = backend.output(b * n * h * dh)
  const attn = backend.output(b * h * n * n)
  backend.addon.attentionCore!(values(backend, qkv, "qkv"), out, attn, b, n, h, dh, num(attrs, "scale"))
  return [backend.makeTensorInfo([b, n, h * dh], "float32", out), backend.makeTensorInfo([b, h, n, n], "float32", attn)]
}

const attentionGrad: FusedKernel = (inputs, attrs, backend) => {
  const qkv = inputs["qkv"]!
  const [b, n, h, dh] = attentionDims(qkv, attrs, names.attentionGrad)
  const qv = values(backend, qkv, "qkv")
  const dqkv = backend.output(qv.length)
  const dAttn = inputs["dAttn"] === undefined ? null : values(backend, inputs["dAttn"], "dAttn")
  backend.addon.attentionCoreGrad!(qv, values(backend, inputs["attn"], "attn"), values(backend, inputs["dOut"], "dOut"), dAttn, dqkv, b, n, h, dh,
    num(attrs, "scale"))
  return backend.makeTensorInfo(qkv.shape, "float32", dqkv)
}

/** The fused kernels this addon supports, by tfjs kernel name. */
export const fusedKernels = (addon: NativeAddon): ReadonlyArray<readonly [string, FusedKernel]> =>
  ([
    [names.layerNorm, layerNorm, addon.layerNorm !== undefined && addon.layerNormGrad !== undefined],
    [names.layerNormGrad, layerNormGrad, addon.layerNorm !== undefined && addon.layerNormGrad !== undefined],
    [names.gelu, gelu, addon.gelu !== undefined && addon.geluGrad !== undefined],
    [names.geluGrad, geluGrad, addon.gelu !== undefined && addon.geluGrad !== undefined],
    [names.softmaxGrad, softmaxGrad, addon.softmaxGrad !== undefined],
    [names.adamw, adamw, addon.adamw !== undefined],
    [names.linear, linear, addon.matmulBias !== undefined],
    [names.attention, attention, addon.attentionCore !== undefined && addon.attentionCoreGrad !== undefined],
    [names.attentionGrad, attentionGrad, addon.attentionCore !== undefined && addon.attentionCoreGrad !== undefined],
  ] as const).filter(([, , ok]) => ok).map(([name, k]) => [name, k] as const)
