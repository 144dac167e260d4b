/**
 * Layer normalisation over the last axis (Ba et al. 2016), as PyTorch's
 * `nn.LayerNorm(eps=1e-6)` that timm's ViT uses: biased variance,
 * y = (x - mean) / sqrt(var + eps) * weight + bias. Differentiated by tfjs
 * autodiff through these primitives; on the native backend one fused kernel
 * each way, its gradient from the saved per-row mean and 1/sqrt(var + eps):
 * dx = rstd · (g - mean(g) - x̂ · mean(g · x̂)) with g = dy · weight.
 */
import * as tf from "@tensorflow/tfjs-core"
import { fusedKernelNames, hasFusedKernel, runKernel } from "../../../runtime/backend/kernels.ts"

/** timm's ViT LayerNorm epsilon (`partial(nn.LayerNorm, eps=1e-6)`). */
export const vitLayerNormEps = 1e-6

const fusedByEps = new Map<number, (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor>()

const fused = (eps: number) => {
  const known = fusedByEps.get(eps)
  if (known !== undefined) return known
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [x, gamma, beta, save] = args
    if (!(x instanceof tf.Tensor) || !(gamma instanceof tf.Tensor) || !(beta instanceof tf.Tensor) || typeof save !== "function") {
      throw new TypeError("layerNorm: expected (x, weight, bias)")
    }
    const [y, mean, rstd] = runKernel(fusedKernelNames.layerNorm, { x, gamma, beta }, { eps })
    save([x, gamma, mean, rstd])
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, [sx, sg, sm, sr]: Array<tf.Tensor>) => runKernel(fusedKernelNames.layerNormGrad, { dy, x: sx!, gamma: sg!, mean: sm!, rstd: sr! }),
    }
  }) as (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor
  fusedByEps.set(eps, f)
  return f
}

const canFuse = (x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor): boolean => {
  const d = x.shape[x.rank - 1]
  return x.rank >= 1 && x.size > 0 && weight.rank === 1 && bias.rank === 1 && weight.shape[0] === d && bias.shape[0] === d &&
    x.dtype === "float32" && weight.dtype === "float32" && bias.dtype === "float32" && hasFusedKernel(fusedKernelNames.layerNorm)
}

export const layerNorm = (x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor, eps: number = vitLayerNormEps): tf.Tensor => {
  if (canFuse(x, weight, bias)) return fused(eps)(x, weight, bias)
  const mean = tf.mean(x, -1, true)
  const centered = tf.sub(x, mean)
  const variance = tf.mean(tf.square(centered), -1, true)
  const normed = tf.mul(centered, tf.rsqrt(tf.add(variance, eps)))
  return tf.add(tf.mul(normed, weight), bias)
}
