/**
 * Loads the N-API addon built from `native/` (oneDNN matmuls, OpenMP
 * elementwise kernels). Its functions read and write Float32Arrays in place:
 * tfjs cpu-backend buffers go in without a copy.
 */
import { existsSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { NativeAddonLoadFailed, NativeAddonMissing, NativeDisabled } from "../errors.ts"

/** The addon's exports (native/src/addon.cc); every call is synchronous. */
export interface NativeAddon {
  /** out[b] = op(a[b])·op(b[b]); batchA/batchB are 1 (broadcast) or the batch size. */
  matmul(a: Float32Array, b: Float32Array, out: Float32Array, batchA: number, batchB: number, m: number, k: number, n: number, transA: boolean, transB: boolean, bf16: boolean): void
  /** Broadcasting binary op (codes in kernels/elementwise.ts); strides are 0 on broadcast axes. */
  binary(op: number, a: Float32Array, b: Float32Array, out: Float32Array, shape: ReadonlyArray<number>, aStrides: ReadonlyArray<number>, bStrides: ReadonlyArray<number>): void
  unary(op: number, x: Float32Array, out: Float32Array): void
  /** Softmax over the last axis of length `cols`. */
  softmax(x: Float32Array, out: Float32Array, cols: number): void
  /** x viewed as [outer, mid, inner] reduced over mid; kind 0 sum, 1 mean, 2 max, 3 min. */
  reduce(kind: number, x: Float32Array, out: Float32Array, outer: number, mid: number, inner: number): void
  transpose(x: Float32Array, out: Float32Array, shape: ReadonlyArray<number>, perm: ReadonlyArray<number>): void
  /** Pins the threads of large matmuls (unpinned, each shape picks 1 or all by measured time; the other kernels are single-threaded). */
  setThreads(n: number): void
  // Fused kernels (native/src/fused.cc), absent from addons built before them: feature-detect each.
  /** Per row of `cols`: y = (x - mean) / sqrt(var + eps) * gamma + beta, writing each row's mean and rstd. */
  layerNorm?(x: Float32Array, gamma: Float32Array, beta: Float32Array, y: Float32Array, mean: Float32Array, rstd: Float32Array, cols: number, eps: number): void
  /** LayerNorm gradients from the saved mean/rstd; dgamma, dbeta summed over rows. */
  layerNormGrad?(dy: Float32Array, x: Float32Array, gamma: Float32Array, mean: Float32Array, rstd: Float32Array, dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array, cols: number): void
  /** Exact GELU and its gradient. */
  gelu?(x: Float32Array, y: Float32Array): void
  geluGrad?(dy: Float32Array, x: Float32Array, dx: Float32Array): void
  /** Last-axis softmax gradient from the softmax output y. */
  softmaxGrad?(y: Float32Array, dy: Float32Array, dx: Float32Array, cols: number): void
  /** One AdamW step (plugins/training/adamw.ts) into pOut/mOut/vOut; weightDecay 0 for undecayed parameters. */
  adamw?(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, pOut: Float32Array, mOut: Float32Array, vOut: Float32Array,
    beta1: number, beta2: number, eps: number, lr: number, c1: number, c2: number, weightDecay: number): void
  /** `matmul` plus `bias` (n floats) added to every output row inside oneDNN (absent from older addons). */
  matmulBias?(a: Float32Array, b: Float32Array, bias: Float32Array, out: Float32Array, batchA: number, batchB: number, m: number, k: number, n: number,
    transA: boolean, transB: boolean, bf16: boolean): void
  /** Fused attention core (native/src/attention.cc): qkv [batch, tokens, 3·heads·dh] -> out [batch, tokens, heads·dh], attn [batch, heads, tokens, tokens]. */
  attentionCore?(qkv: Float32Array, out: Float32Array, attn: Float32Array, batch: number, tokens: number, heads: number, dh: number, scale: number): void
  /** Its gradient with respect to qkv from dOut and (null: none) dAttn. */
  attentionCoreGrad?(qkv: Float32Array, attn: Float32Array, dOut: Float32Array, dAttn: Float32Array | null, dqkv: Float32Array,
    batch: number, tokens: number, heads: number, dh: number, scale: number): void
  /** "oneDNN 2.6.3, avx512_core_bf16, 2 threads": the library version, the ISA it dispatches to, matmul threads. */
  info(): string
}

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..")

/** Where `npm run build:native` puts the addon; `SSL_KD_NATIVE_ADDON` overrides it. */
export const nativeAddonPath = (): string =>
  process.env["SSL_KD_NATIVE_ADDON"] ?? join(repoRoot, "native", "build", "Release", "ssl_kd_native.node")

const isAddon = (m: unknown): m is NativeAddon =>
  typeof m === "object" && m !== null &&
  ["matmul", "binary", "unary", "softmax", "reduce", "transpose", "setThreads", "info"].every((f) => typeof Reflect.get(m, f) === "function")

/** Applies `SSL_KD_NATIVE_THREADS` (matmul threads, pinned; default: 1 or OpenMP's count, the cores, chosen per shape by measured time). */
const configure = (addon: NativeAddon): NativeAddon => {
  const n = Number(process.env["SSL_KD_NATIVE_THREADS"])
  if (Number.isInteger(n) && n >= 1) addon.setThreads(n)
  return addon
}

/** Opens the addon at `path` (not memoised; {@link loadAddon} is the process-wide entry). */
export const openAddon = (path: string): NativeAddon | NativeAddonMissing | NativeAddonLoadFailed => {
  if (!existsSync(path)) return new NativeAddonMissing({ path })
  try {
    // Idle OpenMP threads sleep instead of spinning: on a shared 2-core machine a spinning
    // worker steals the core the next kernel needs (measured: 2-thread matmuls 2x slower).
    process.env["OMP_WAIT_POLICY"] ??= "PASSIVE"
    const m: unknown = createRequire(import.meta.url)(path)
    return isAddon(m) ? configure(m) : new NativeAddonLoadFailed({ path, cause: "it does not export the expected kernels" })
  } catch (e) {
    return new NativeAddonLoadFailed({ path, cause: e instanceof Error ? (e.message.split("\n")[0] ?? e.message) : String(e) })
  }
}

let loaded: NativeAddon | NativeAddonMissing | NativeAddonLoadFailed | NativeDisabled | undefined

/** The addon, or why it is not there; loaded once per process. `SSL_KD_NATIVE=off` disables it. */
export const loadAddon = (): NativeAddon | NativeAddonMissing | NativeAddonLoadFailed | NativeDisabled => {
  loaded ??= (process.env["SSL_KD_NATIVE"] ?? "").toLowerCase() === "off" ? new NativeDisabled() : openAddon(nativeAddonPath())
  return loaded
}
