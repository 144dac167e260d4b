/**
 * Registers the `native` tfjs backend: every tfjs-backend-cpu kernel is
 * re-registered under `native`, and the hot ones are replaced by the
 * oneDNN / OpenMP addon. An override declines inputs it does not cover
 * (non-float32, unusual broadcasts) by returning `undefined`; the cpu kernel
 * it replaces then runs.
 */
import * as tf from "@tensorflow/tfjs-core"
import { NativeBf16Unsupported } from "../errors.ts"
import type { NativeAddon } from "./addon.ts"
import { type MatmulPrecision, NativeBackend, type NativeKernel, nativeTfName } from "./backend.ts"
import { type Bf16Support, bf16Support } from "./bf16.ts"
import { concatKernels } from "./kernels/concat.ts"
import { elementwiseKernels } from "./kernels/elementwise.ts"
import { fusedKernels } from "./kernels/fused.ts"
import { softmaxKernels, transposeKernels } from "./kernels/layout.ts"
import { matmulKernels } from "./kernels/matmul.ts"
import { reduceKernels } from "./kernels/reduce.ts"

const overrides = (): ReadonlyMap<string, NativeKernel> =>
  new Map([...matmulKernels, ...concatKernels, ...elementwiseKernels, ...reduceKernels, ...transposeKernels, ...softmaxKernels])

let registered = false

/**
 * `SSL_KD_NATIVE_PROFILE=1` (or `=shapes`, per kernel and input shapes): wall time and calls, without
 * `tf.profile` (which reads every output, and so defeats buffer reuse).
 */
const profiling = process.env["SSL_KD_NATIVE_PROFILE"] === "1" || process.env["SSL_KD_NATIVE_PROFILE"] === "shapes"
const byShape = process.env["SSL_KD_NATIVE_PROFILE"] === "shapes"
const times = new Map<string, { ms: number; calls: number }>()

const timed = (name: string, f: tf.KernelFunc): tf.KernelFunc => (params) => {
  const start = performance.now()
  const out = f(params)
  const key = byShape ? `${name} ${Object.values(params.inputs).map((t) => `[${t?.shape.join(",") ?? ""}]`).join("")}` : name
  const t = times.get(key) ?? { ms: 0, calls: 0 }
  t.ms += performance.now() - start
  t.calls++
  times.set(key, t)
  return out
}

/** Kernel times gathered under `SSL_KD_NATIVE_PROFILE=1`, slowest first; `reset` clears them. */
export const nativeKernelTimes = (reset = false): Array<{ kernel: string; ms: number; calls: number }> => {
  const rows = [...times].map(([kernel, t]) => ({ kernel, ...t })).sort((a, b) => b.ms - a.ms)
  if (reset) times.clear()
  return rows
}

/** Names of the kernels the native backend overrides (the rest are tfjs-backend-cpu's). */
export const nativeKernelNames = (): ReadonlyArray<string> => [...overrides().keys()].sort()

/**
 * Registers the `native` backend and its kernels once per process. Requires
 * tfjs-backend-cpu's kernels to be registered (importing it does that).
 */
export const registerNativeBackend = (addon: NativeAddon): void => {
  if (registered) return
  registered = true
  tf.registerBackend(nativeTfName, () => new NativeBackend(addon), 0)
  const own = overrides()
  for (const config of tf.getKernelsForBackend("cpu")) {
    const native = own.get(config.kernelName)
    const fallback = config.kernelFunc
    const kernelFunc: tf.KernelFunc = (params) => {
      const { backend } = params
      if (!(backend instanceof NativeBackend)) return fallback(params)
      const out = native?.(params.inputs, params.attrs ?? {}, backend)
      return out ?? guardViews(backend, params.inputs, fallback(params))
    }
    tf.registerKernel({ ...config, backendName: nativeTfName, kernelFunc: profiling ? timed(config.kernelName, kernelFunc) : kernelFunc })
  }
  // The fused kernels (runtime/backend/kernels.ts) this addon has; none on the cpu backend, so no fallback.
  for (const [kernelName, fused] of fusedKernels(addon)) {
    const kernelFunc: tf.KernelFunc = ({ inputs, attrs, backend }) => {
      if (!(backend instanceof NativeBackend)) throw new TypeError(`${kernelName} runs only on the native backend`)
      return fused(inputs, attrs ?? {}, backend)
    }
    tf.registerKernel({ kernelName, backendName: nativeTfName, kernelFunc: profiling ? timed(kernelName, kernelFunc) : kernelFunc })
  }
}

/**
 * A cpu kernel's output may be a view of an input's pooled buffer (Slice's
 * `subarray`) under a new dataId: never recycle those. Outputs that reuse an
 * input's dataId (Reshape, Identity) are covered by its reference count.
 */
const guardViews = (
  backend: NativeBackend,
  inputs: tf.NamedTensorInfoMap,
  out: tf.TensorInfo | Array<tf.TensorInfo>,
): tf.TensorInfo | Array<tf.TensorInfo> => {
  const ins = Object.values(inputs).filter((t): t is tf.TensorInfo => t !== undefined)
  if (!ins.some((t) => backend.pool.owns(backend.data.get(t.dataId)?.values))) return out
  for (const t of Array.isArray(out) ? out : [out]) {
    if (ins.some((i) => i.dataId === t.dataId)) continue
    const values = backend.data.get(t.dataId)?.values
    if (backend.pool.owns(values)) backend.pool.markEscaped(values)
  }
  return out
}

/** The registered native backend, `undefined` when none is. */
const registeredNative = (): NativeBackend | undefined => {
  const b = tf.findBackend(nativeTfName)
  return b instanceof NativeBackend ? b : undefined
}

/**
 * Sets the matmul precision of the registered native backend; a no-op when
 * none is registered. Throws {@link NativeBf16Unsupported} for "bf16" on a CPU
 * whose oneDNN has no bf16 matmuls (the precision is then left as it was).
 */
export const setNativeMatmulPrecision = (precision: MatmulPrecision): void => {
  const b = registeredNative()
  if (b === undefined) return
  if (precision === "bf16") {
    const support = bf16Support(b.addon)
    if (!support.ok) throw new NativeBf16Unsupported({ isa: support.isa })
  }
  b.matmulPrecision = precision
}

/** Whether the registered native backend can run bf16 matmuls (or the ISA that lacks them); `undefined` when none is registered. */
export const nativeBf16Support = (): Bf16Support | undefined => {
  const b = registeredNative()
  return b === undefined ? undefined : bf16Support(b.addon)
}

/** The precision part of the backend's description: "f32 matmuls", or why `SSL_KD_NATIVE_BF16=1` was not applied. */
export const nativeMatmulNote = (): string | undefined => {
  const b = registeredNative()
  if (b === undefined) return undefined
  return `${b.matmulPrecision} matmuls` +
    (b.bf16Refused === undefined ? "" : ` (SSL_KD_NATIVE_BF16=1 not applied: oneDNN has no bf16 matmuls on ${b.bf16Refused}, they need AVX-512)`)
}

/** The active native backend's matmul precision, `undefined` when none is registered. */
export const nativeMatmulPrecision = (): MatmulPrecision | undefined => registeredNative()?.matmulPrecision
