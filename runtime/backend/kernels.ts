/**
 * The fused kernels: names, typed inputs, attributes and outputs, in one
 * neutral module (as tfjs-core's `kernel_names.ts`). Model and training code
 * (plugins/models/ops, plugins/training) calls them through {@link runKernel};
 * the `native` backend implements them (native/internal/kernels/fused.ts) when
 * its addon has them, and model code keeps its composite tfjs path on every
 * other backend (check {@link hasFusedKernel} first). Each is one native pass
 * instead of many elementwise tfjs ops.
 *
 *   SslKdLayerNorm      {x, gamma, beta} {eps}        -> [y, mean, rstd]  (mean/rstd: x.shape without the last axis)
 *   SslKdLayerNormGrad  {dy, x, gamma, mean, rstd}    -> [dx, dgamma, dbeta]
 *   SslKdGelu           {x}                           -> y
 *   SslKdGeluGrad       {dy, x}                       -> dx
 *   SslKdSoftmaxGrad    {y, dy}                       -> dx  (softmax over the last axis, y its output)
 *   SslKdAdamW          {p, g, m, v} {beta1, beta2, eps, lr, c1, c2, weightDecay} -> [p, m, v]
 *   SslKdLinear         {x, weight, bias}             -> y = x · weightᵀ + bias  (x [rows, in], weight [out, in], bias [out];
 *                                                         the bias added inside the oneDNN product, no Add pass)
 *   SslKdAttention      {qkv} {heads, scale}          -> [out, attn]  (qkv [B, N, 3·H·Dh] as timm's qkv Linear writes it;
 *                                                         out [B, N, H·Dh] = softmax(scale · q·kᵀ)·v, heads merged; attn [B, H, N, N])
 *   SslKdAttentionGrad  {qkv, attn, dOut, dAttn?} {heads, scale} -> dqkv  (the gradient of both outputs with respect to qkv)
 */
import * as tf from "@tensorflow/tfjs-core"

export const fusedKernelNames = {
  layerNorm: "SslKdLayerNorm",
  layerNormGrad: "SslKdLayerNormGrad",
  gelu: "SslKdGelu",
  geluGrad: "SslKdGeluGrad",
  softmaxGrad: "SslKdSoftmaxGrad",
  adamw: "SslKdAdamW",
  linear: "SslKdLinear",
  attention: "SslKdAttention",
  attentionGrad: "SslKdAttentionGrad",
} as const

export type FusedKernelName = (typeof fusedKernelNames)[keyof typeof fusedKernelNames]

type T = tf.Tensor
/** A kernel without attributes. */
type NoAttrs = Record<never, never>

export interface AdamWAttrs {
  readonly beta1: number
  readonly beta2: number
  readonly eps: number
  readonly lr: number
  /** Bias corrections 1 - beta1^t and 1 - beta2^t. */
  readonly c1: number
  readonly c2: number
  /** Decoupled weight decay (0 for parameters that do not decay). */
  readonly weightDecay: number
}

export interface AttentionAttrs {
  readonly heads: number
  readonly scale: number
}

/** Inputs, attributes and outputs of every fused kernel. */
export interface FusedKernels {
  readonly SslKdLayerNorm: { inputs: { x: T; gamma: T; beta: T }; attrs: { readonly eps: number }; outputs: [y: T, mean: T, rstd: T] }
  readonly SslKdLayerNormGrad: { inputs: { dy: T; x: T; gamma: T; mean: T; rstd: T }; attrs: NoAttrs; outputs: [dx: T, dgamma: T, dbeta: T] }
  readonly SslKdGelu: { inputs: { x: T }; attrs: NoAttrs; outputs: T }
  readonly SslKdGeluGrad: { inputs: { dy: T; x: T }; attrs: NoAttrs; outputs: T }
  readonly SslKdSoftmaxGrad: { inputs: { y: T; dy: T }; attrs: NoAttrs; outputs: T }
  readonly SslKdAdamW: { inputs: { p: T; g: T; m: T; v: T }; attrs: AdamWAttrs; outputs: [p: T, m: T, v: T] }
  readonly SslKdLinear: { inputs: { x: T; weight: T; bias: T }; attrs: NoAttrs; outputs: T }
  readonly SslKdAttention: { inputs: { qkv: T }; attrs: AttentionAttrs; outputs: [out: T, attn: T] }
  readonly SslKdAttentionGrad: { inputs: { qkv: T; attn: T; dOut: T; dAttn?: T }; attrs: AttentionAttrs; outputs: T }
}

/** Runs fused kernel `name` on the active backend (which must have it: see {@link hasFusedKernel}). */
export const runKernel = <K extends FusedKernelName>(
  name: K,
  inputs: FusedKernels[K]["inputs"],
  ...attrs: keyof FusedKernels[K]["attrs"] extends never ? [] : [FusedKernels[K]["attrs"]]
): FusedKernels[K]["outputs"] =>
  tf.engine().runKernel(name, inputs as unknown as tf.NamedTensorMap, (attrs[0] ?? {}) as unknown as tf.NamedAttrMap) as unknown as FusedKernels[K]["outputs"]

/** Whether the active backend is `native` and registers `name` (an older addon may lack it). */
export const hasFusedKernel = (name: FusedKernelName): boolean =>
  tf.getBackend() === "native" && tf.getKernel(name, "native") !== undefined

/**
 * Whether model code should run the fused attention core (`SslKdAttention`):
 * on the native backend by default, the composite ops with
 * `SSL_KD_NATIVE_ATTENTION=composite`. Its first loops (accumulating in
 * memory) measured slower than the composite path's oneDNN batched products;
 * the register-blocked rewrite of 2026-12-07 is ~2x faster than those
 * (test/bench/attentionCore.bench.ts), its kernels take less time than the
 * composite ops in every step kind's profile (student, joint, MAE) and
 * hold no split or transposed copies (peak RSS 15-20 % lower in the joint
 * and MAE steps).
 */
export const fusedAttentionEnabled = (): boolean =>
  process.env["SSL_KD_NATIVE_ATTENTION"] !== "composite" && hasFusedKernel(fusedKernelNames.attention)

/** Whether the active backend is `native` (its BatchMatMul takes transposed operands without a copy). */
export const nativeActive = (): boolean => tf.getBackend() === "native"
