/**
 * timm's ViT `Attention` (multi-head self-attention, Vaswani et al. 2017):
 * a fused qkv Linear, reshaped [B, N, 3, H, Dh] and permuted to
 * [3, B, H, N, Dh] (here as [B, 3·H, N, Dh], the same values); A = softmax(q·kᵀ · Dh^-0.5) of shape [B, H, N, N];
 * out = proj((A·v) merged back to [B, N, D]).
 *
 * On the native backend (unless `SSL_KD_NATIVE_ATTENTION=composite`: see
 * `fusedAttentionEnabled`) the core between the two Linears (split, scale,
 * q·kᵀ, softmax, A·v, merge) is one fused kernel and its gradient another
 * (runtime/backend/kernels.ts `SslKdAttention`); otherwise the
 * composite ops below run, the same values within float32 rounding.
 */
import * as tf from "@tensorflow/tfjs-core"
import { fusedAttentionEnabled, fusedKernelNames, hasFusedKernel, runKernel } from "../../../runtime/backend/kernels.ts"
import { linear } from "./linear.ts"
import { matmulT } from "./matmul.ts"

export interface AttentionParams {
  readonly qkvWeight: tf.Tensor
  readonly qkvBias: tf.Tensor
  readonly projWeight: tf.Tensor
  readonly projBias: tf.Tensor
}

export interface AttentionOutput {
  readonly out: tf.Tensor
  /** Attention weights [B, H, N, N]; each row sums to 1. */
  readonly attn: tf.Tensor
}

/** Last-axis softmax whose gradient is one fused native kernel, dx = y · (dy - Σ dy·y). */
const fusedSoftmax = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [logits, save] = args
  if (!(logits instanceof tf.Tensor) || typeof save !== "function") throw new TypeError("softmax: expected (logits: Tensor)")
  const y = tf.softmax(logits, -1)
  save([y])
  return {
    value: y,
    gradFunc: (dy: tf.Tensor, [sy]: Array<tf.Tensor>) => runKernel(fusedKernelNames.softmaxGrad, { y: sy!, dy }),
  }
})

const softmax = (logits: tf.Tensor): tf.Tensor =>
  logits.dtype === "float32" && logits.size > 0 && hasFusedKernel(fusedKernelNames.softmaxGrad) ? fusedSoftmax(logits) : tf.softmax(logits, -1)

/**
 * The fused core's gradient: dqkv from the gradients of both outputs (the
 * engine passes zeros for an unused attention map). Registered for every
 * backend; only the native backend runs the forward kernel, so only there is it called.
 */
tf.registerGradient({
  kernelName: fusedKernelNames.attention,
  inputsToSave: ["qkv"],
  outputsToSave: [false, true],
  gradFunc: (dy: tf.Tensor | Array<tf.Tensor>, saved: Array<tf.Tensor>, attrs: tf.NamedAttrMap | undefined) => {
    const [dOut, dAttn] = Array.isArray(dy) ? dy : [dy]
    const [qkv, attn] = saved
    if (qkv === undefined || attn === undefined || dOut === undefined) throw new TypeError("attention: saved tensors missing")
    const heads = attrs?.["heads"]
    const scale = attrs?.["scale"]
    if (typeof heads !== "number" || typeof scale !== "number") throw new TypeError("attention: the saved heads and scale attributes are missing")
    return { qkv: () => runKernel(fusedKernelNames.attentionGrad, dAttn === undefined ? { qkv, attn, dOut } : { qkv, attn, dOut, dAttn }, { heads, scale }) }
  },
})

/** The core as the native kernel: qkv [B, N, 3·D] -> merged head outputs [B, N, D] and the maps [B, H, N, N]. */
const fusedCore = (qkv: tf.Tensor, heads: number, scale: number): AttentionOutput => {
  const [out, attn] = runKernel(fusedKernelNames.attention, { qkv }, { heads, scale })
  return { out, attn }
}

export const attention = (x: tf.Tensor, p: AttentionParams, heads: number): AttentionOutput => {
  const [b, n, d] = x.shape
  if (b === undefined || n === undefined || d === undefined || d % heads !== 0) {
    throw new TypeError(`attention: input [${x.shape.join(", ")}] does not split into ${heads} heads`)
  }
  const dh = d / heads
  if (x.dtype === "float32" && x.size > 0 && fusedAttentionEnabled()) {
    const core = fusedCore(linear(x, p.qkvWeight, p.qkvBias), heads, dh ** -0.5)
    return { out: linear(core.out, p.projWeight, p.projBias), attn: core.attn }
  }
  // [B, N, 3·H·Dh] viewed as [B, N, 3·H, Dh] (same order as timm's [B, N, 3, H, Dh]) and moved to
  // [B, 3·H, N, Dh]: a rank-4 transpose, which the wasm backend runs ~400x faster than a rank-5 one.
  const qkv = tf.transpose(tf.reshape(linear(x, p.qkvWeight, p.qkvBias), [b, n, 3 * heads, dh]), [0, 2, 1, 3])
  const [q, k, v] = tf.split(qkv, 3, 1)
  if (q === undefined || k === undefined || v === undefined) throw new TypeError("attention: qkv split failed")
  const attn = softmax(matmulT(tf.mul(q, dh ** -0.5), k, false, true))
  const merged = tf.reshape(tf.transpose(matmulT(attn, v, false, false), [0, 2, 1, 3]), [b, n, d])
  return { out: linear(merged, p.projWeight, p.projBias), attn }
}
