/**
 * The linear probe of `paper/evaluate`: a linear classifier on frozen
 * features, fitted in closed form so that it is deterministic (no seed, no
 * iteration count, the same result on every backend and thread):
 *
 * - features standardized with the training set's mean and (population)
 *   standard deviation per dimension; a dimension that is constant on the
 *   training set (std <= 1e-12 · (1 + |mean|)) is dropped (standardized to 0);
 * - ridge regression on one-hot targets Y [N, K] with an unpenalized bias:
 *
 *     W = (ZᵀZ / N + λ I)⁻¹ ZᵀY / N,   b = mean of Y over the training rows
 *
 *   (Z is centred, so the bias decouples and equals the class frequencies);
 *   λ is relative to the standardized features' unit variance (λ = 0.01:
 *   1 % shrinkage);
 * - prediction: argmax_k (z W + b)_k, ties to the lower class index.
 *
 * Everything runs in float64 on the host (Gram matrix N·D²/2 multiply-adds,
 * Cholesky D³/6): no tensors, nothing to dispose.
 */
import { Data } from "effect"

/** An input the probe cannot fit: the field, what it is, what was expected. */
export class ProbeInputError extends Data.TaggedError("ProbeInputError")<{
  readonly field: string
  readonly got: string
  readonly expected: string
}> {
  override get message(): string {
    return `linear probe: ${this.field} is ${this.got}; expected ${this.expected}`
  }
}

/** A fitted probe: standardization, weights [D, K] row-major, bias [K]. */
export interface RidgeProbe {
  readonly dim: number
  readonly numClasses: number
  readonly mean: Float64Array
  /** 1 / std per dimension, 0 for a dimension dropped as constant. */
  readonly invStd: Float64Array
  readonly weights: Float64Array
  readonly bias: Float64Array
}

/** Fits the ridge probe on `count = labels.length` rows of `features` ([count, dim] row-major). */
export const fitRidgeProbe = (
  features: Float32Array,
  labels: Int32Array,
  dim: number,
  numClasses: number,
  lambda: number,
): RidgeProbe | ProbeInputError => {
  const n = labels.length
  if (!(Number.isInteger(dim) && dim >= 1)) return new ProbeInputError({ field: "dim", got: String(dim), expected: "an integer >= 1" })
  if (!(Number.isInteger(numClasses) && numClasses >= 1)) return new ProbeInputError({ field: "numClasses", got: String(numClasses), expected: "an integer >= 1" })
  if (!(lambda > 0 && Number.isFinite(lambda))) return new ProbeInputError({ field: "lambda", got: String(lambda), expected: "a finite number > 0" })
  if (n === 0) return new ProbeInputError({ field: "labels", got: "empty", expected: "at least one training row" })
  if (features.length !== n * dim) return new ProbeInputError({ field: "features", got: `${features.length} values`, expected: `${n * dim} (${n} rows x ${dim})` })
  const badLabel = labels.findIndex((l) => !(l >= 0 && l < numClasses))
  if (badLabel >= 0) return new ProbeInputError({ field: `labels[${badLabel}]`, got: String(labels[badLabel]), expected: `a class in 0..${numClasses - 1}` })
  const bad = features.findIndex((v) => !Number.isFinite(v))
  if (bad >= 0) return new ProbeInputError({ field: `features[${bad}]`, got: String(features[bad]), expected: "a finite number" })

  const mean = new Float64Array(dim)
  const invStd = new Float64Array(dim)
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j] = (mean[j] ?? 0) + (features[i * dim + j] ?? 0)
  for (let j = 0; j < dim; j++) mean[j] = (mean[j] ?? 0) / n
  const variance = new Float64Array(dim)
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) {
      const d = (features[i * dim + j] ?? 0) - (mean[j] ?? 0)
      variance[j] = (variance[j] ?? 0) + d * d
    }
  }
  for (let j = 0; j < dim; j++) {
    const std = Math.sqrt((variance[j] ?? 0) / n)
    invStd[j] = std > 1e-12 * (1 + Math.abs(mean[j] ?? 0)) ? 1 / std : 0
  }

  // A = ZᵀZ / N + λI (upper triangle accumulated, then mirrored), R = ZᵀY / N, b = class frequencies.
  const a = new Float64Array(dim * dim)
  const r = new Float64Array(dim * numClasses)
  const bias = new Float64Array(numClasses)
  const z = new Float64Array(dim)
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) z[j] = ((features[i * dim + j] ?? 0) - (mean[j] ?? 0)) * (invStd[j] ?? 0)
    const y = labels[i] ?? 0
    bias[y] = (bias[y] ?? 0) + 1
    for (let j = 0; j < dim; j++) {
      const zj = z[j] ?? 0
      if (zj === 0) continue
      r[j * numClasses + y] = (r[j * numClasses + y] ?? 0) + zj
      const row = j * dim
      for (let l = j; l < dim; l++) a[row + l] = (a[row + l] ?? 0) + zj * (z[l] ?? 0)
    }
  }
  for (let j = 0; j < dim; j++) {
    for (let l = j; l < dim; l++) {
      const v = (a[j * dim + l] ?? 0) / n + (j === l ? lambda : 0)
      a[j * dim + l] = v
      a[l * dim + j] = v
    }
  }
  for (let k = 0; k < r.length; k++) r[k] = (r[k] ?? 0) / n
  for (let c = 0; c < numClasses; c++) bias[c] = (bias[c] ?? 0) / n

  // Cholesky A = L Lᵀ (A is symmetric positive definite: λ > 0), L in the lower triangle of `a`.
  for (let j = 0; j < dim; j++) {
    let d = a[j * dim + j] ?? 0
    for (let k = 0; k < j; k++) d -= (a[j * dim + k] ?? 0) ** 2
    const ljj = Math.sqrt(d)
    a[j * dim + j] = ljj
    for (let i = j + 1; i < dim; i++) {
      let s = a[i * dim + j] ?? 0
      for (let k = 0; k < j; k++) s -= (a[i * dim + k] ?? 0) * (a[j * dim + k] ?? 0)
      a[i * dim + j] = s / ljj
    }
  }
  // Solve L U = R, then Lᵀ W = U, for all K columns at once.
  const w = Float64Array.from(r)
  for (let i = 0; i < dim; i++) {
    for (let c = 0; c < numClasses; c++) {
      let s = w[i * numClasses + c] ?? 0
      for (let k = 0; k < i; k++) s -= (a[i * dim + k] ?? 0) * (w[k * numClasses + c] ?? 0)
      w[i * numClasses + c] = s / (a[i * dim + i] ?? 1)
    }
  }
  for (let i = dim - 1; i >= 0; i--) {
    for (let c = 0; c < numClasses; c++) {
      let s = w[i * numClasses + c] ?? 0
      for (let k = i + 1; k < dim; k++) s -= (a[k * dim + i] ?? 0) * (w[k * numClasses + c] ?? 0)
      w[i * numClasses + c] = s / (a[i * dim + i] ?? 1)
    }
  }
  return { dim, numClasses, mean, invStd, weights: w, bias }
}

/** Class scores [count, K] of `features` ([count, dim]) under the probe. */
export const probeScores = (probe: RidgeProbe, features: Float32Array): Float64Array => {
  const { dim, numClasses: k } = probe
  const count = Math.floor(features.length / dim)
  const out = new Float64Array(count * k)
  for (let i = 0; i < count; i++) {
    for (let c = 0; c < k; c++) out[i * k + c] = probe.bias[c] ?? 0
    for (let j = 0; j < dim; j++) {
      const zj = ((features[i * dim + j] ?? 0) - (probe.mean[j] ?? 0)) * (probe.invStd[j] ?? 0)
      if (zj === 0) continue
      for (let c = 0; c < k; c++) out[i * k + c] = (out[i * k + c] ?? 0) + zj * (probe.weights[j * k + c] ?? 0)
    }
  }
  return out
}

/** Predicted class of every row (argmax of the scores, ties to the lower index). */
export const probePredict = (probe: RidgeProbe, features: Float32Array): Int32Array => {
  const k = probe.numClasses
  const scores = probeScores(probe, features)
  const out = new Int32Array(scores.length / k)
  for (let i = 0; i < out.length; i++) {
    let best = 0
    for (let c = 1; c < k; c++) if ((scores[i * k + c] ?? 0) > (scores[i * k + best] ?? 0)) best = c
    out[i] = best
  }
  return out
}

/** Top-1 and accuracy per class (0 for a class without examples) of `predictions` against `labels`. */
export const accuracyPerClass = (predictions: Int32Array, labels: Int32Array, numClasses: number): { readonly top1: number; readonly perClass: ReadonlyArray<number> } => {
  const right = new Array<number>(numClasses).fill(0)
  const seen = new Array<number>(numClasses).fill(0)
  let correct = 0
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i] ?? 0
    seen[y] = (seen[y] ?? 0) + 1
    if (predictions[i] === y) {
      right[y] = (right[y] ?? 0) + 1
      correct++
    }
  }
  return { top1: labels.length === 0 ? 0 : correct / labels.length, perClass: right.map((r, c) => ((seen[c] ?? 0) === 0 ? 0 : r / (seen[c] ?? 1))) }
}
