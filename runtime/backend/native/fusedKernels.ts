/**
 * Names of the fused kernels the `native` backend registers when its addon
 * has them (issue 7): LayerNorm, exact GELU and softmax gradients, the
 * AdamW update and a Linear layer with its bias inside the product, each one native pass instead of many elementwise tfjs ops.
 * No imports: model code checks {@link hasFusedKernel} and keeps its
 * composite tfjs path on every other backend (or with an older addon).
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
 *   SslKdAttentionGrad  {qkv, attn, dOut, dAttn} {heads, scale} -> dqkv  (the gradient of both outputs with respect to qkv)
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

/** Whether the active backend is `native` and registers `name` (an older addon may lack it). */
export const hasFusedKernel = (name: FusedKernelName): boolean =>
  tf.getBackend() === "native" && tf.getKernel(name, "native") !== undefined

/**
 * Whether model code should run the fused attention core (`SslKdAttention`):
 * only with `SSL_KD_NATIVE_ATTENTION=fused`. Its loops measured slower than
 * the composite path's oneDNN batched products at the pipelines' widths
 * (test/bench/attentionCore.bench.ts: [128, 50, 72], 3 heads, forward +
 * backward 34-48 ms CPU fused vs 22-53 ms composite, load average ~13 on 2
 * cores), so it is opt-in until it is faster; the kernel itself is
 * registered and tested either way.
 */
export const fusedAttentionEnabled = (): boolean =>
  process.env["SSL_KD_NATIVE_ATTENTION"] === "fused" && hasFusedKernel(fusedKernelNames.attention)

/** Whether the active backend is `native` (its BatchMatMul takes transposed operands without a copy). */
export const nativeActive = (): boolean => tf.getBackend() === "native"
