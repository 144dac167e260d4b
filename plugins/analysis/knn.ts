/**
 * k-nearest-neighbour classification on frozen features, DINO's evaluation
 * (Caron et al. 2021, sec. 4.1 and appendix; `knn_classifier` in
 * facebookresearch/dino `eval_knn.py`, after Wu et al. 2018):
 *
 * - features l2-normalized, similarity = cosine = dot product;
 * - the k most similar training images vote; `"weighted"`: a neighbour with
 *   similarity s adds exp(s / T) to its class (k = 20, T = 0.07);
 *   `"majority"`: one vote each (k = 1 is the plain nearest neighbour);
 * - prediction = the class with the largest vote.
 *
 * Ties, made deterministic here (PyTorch's `sort`/`topk` leave them open):
 * among equally similar training images the lower index ranks first (both
 * tfjs backends' `topk`); equal weighted votes go to the lower class index;
 * equal majority counts go to the tied class whose best neighbour ranks first.
 *
 * Test queries run in chunks so the [chunk, Ntrain] similarity block stays
 * under `maxBlockBytes` (64 MiB: 10k x 60k runs as 36 blocks of 279 x 60k).
 */
import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import { InvalidAnalysisOption, KnnInputMismatch, shapeText } from "./errors.ts"

export interface KnnOptions {
  readonly numClasses: number
  /** Neighbours (default 20). */
  readonly k?: number
  /** Vote temperature T of `"weighted"` (default 0.07). */
  readonly temperature?: number
  /** Default `"weighted"`. */
  readonly vote?: "weighted" | "majority"
  /** Largest similarity block in bytes (default 64 MiB); sets the chunk of test rows. */
  readonly maxBlockBytes?: number
}

export interface KnnInput {
  /** [Ntrain, D]; need not be normalized. */
  readonly trainFeatures: tf.Tensor
  readonly trainLabels: Int32Array
  /** [Ntest, D]. */
  readonly testFeatures: tf.Tensor
  /** When given, `top1` is computed. */
  readonly testLabels?: Int32Array
}

export interface KnnResult {
  readonly predictions: Int32Array
  /** Fraction of test images predicted right (when test labels are given). */
  readonly top1: number | undefined
  /** Test rows per similarity block. */
  readonly chunkRows: number
}

type KnnError = KnnInputMismatch | InvalidAnalysisOption

/** Why the inputs cannot be classified, or `undefined`. */
export const checkKnn = (input: KnnInput, o: KnnOptions): KnnError | undefined => {
  const op = "knnClassify"
  const k = o.k ?? 20
  const t = o.temperature ?? 0.07
  const [ntrain, d] = input.trainFeatures.shape
  const [ntest, dt] = input.testFeatures.shape
  if (!Number.isInteger(o.numClasses) || o.numClasses < 1) return new InvalidAnalysisOption({ op, field: "numClasses", value: o.numClasses, expected: "an integer >= 1" })
  if (!(t > 0 && Number.isFinite(t))) return new InvalidAnalysisOption({ op, field: "temperature", value: t, expected: "a finite number > 0" })
  if (input.trainFeatures.rank !== 2 || ntrain === undefined || d === undefined || ntrain === 0) {
    return new KnnInputMismatch({ field: "trainFeatures", got: `of shape ${shapeText(input.trainFeatures.shape)}`, expected: "[Ntrain > 0, D]" })
  }
  if (input.testFeatures.rank !== 2 || ntest === undefined || dt !== d) {
    return new KnnInputMismatch({ field: "testFeatures", got: `of shape ${shapeText(input.testFeatures.shape)}`, expected: `[Ntest, ${d}] (D of trainFeatures ${shapeText(input.trainFeatures.shape)})` })
  }
  if (!Number.isInteger(k) || k < 1 || k > ntrain) return new InvalidAnalysisOption({ op, field: "k", value: k, expected: `an integer in 1..${ntrain} (the training set size)` })
  if (input.trainLabels.length !== ntrain) {
    return new KnnInputMismatch({ field: "trainLabels", got: `${input.trainLabels.length} labels`, expected: `${ntrain} (rows of trainFeatures)` })
  }
  if (input.testLabels !== undefined && input.testLabels.length !== ntest) {
    return new KnnInputMismatch({ field: "testLabels", got: `${input.testLabels.length} labels`, expected: `${ntest} (rows of testFeatures)` })
  }
  const badLabel = input.trainLabels.findIndex((l) => l < 0 || l >= o.numClasses)
  if (badLabel >= 0) {
    return new KnnInputMismatch({ field: `trainLabels[${badLabel}]`, got: String(input.trainLabels[badLabel]), expected: `a class in 0..${o.numClasses - 1}` })
  }
  return undefined
}

const normalizeRows = (x: tf.Tensor): tf.Tensor => tf.div(x, tf.maximum(tf.norm(x, "euclidean", 1, true), 1e-12))

/** The vote of one test row from its k neighbours (sorted by similarity, descending). */
const vote = (sims: Float32Array | Int32Array | Uint8Array, labels: ArrayLike<number>, row: number, k: number, o: KnnOptions, scores: Float64Array): number => {
  scores.fill(0)
  const weighted = (o.vote ?? "weighted") === "weighted"
  const t = o.temperature ?? 0.07
  for (let j = 0; j < k; j++) {
    const c = labels[row * k + j] ?? 0
    scores[c] = (scores[c] ?? 0) + (weighted ? Math.exp((sims[row * k + j] ?? 0) / t) : 1)
  }
  let best = 0
  for (let c = 1; c < scores.length; c++) if ((scores[c] ?? 0) > (scores[best] ?? 0)) best = c
  if (weighted) return best
  // Majority tie: the tied class whose nearest neighbour ranks first.
  const top = scores[best] ?? 0
  for (let j = 0; j < k; j++) {
    const c = labels[row * k + j] ?? 0
    if (scores[c] === top) return c
  }
  return best
}

/**
 * Classifies every test row by its k nearest training rows (see the module
 * doc). Tensors it creates are freed, also on interruption.
 *
 * @example
 * const { top1 } = yield* knnClassify({ trainFeatures, trainLabels, testFeatures, testLabels }, { numClasses: 10 })
 */
export const knnClassify = (input: KnnInput, o: KnnOptions): Effect.Effect<KnnResult, KnnError> =>
  Effect.gen(function*() {
    const bad = checkKnn(input, o)
    if (bad !== undefined) return yield* bad
    const k = o.k ?? 20
    const [ntrain = 1] = input.trainFeatures.shape
    const [ntest = 0] = input.testFeatures.shape
    const chunkRows = Math.max(1, Math.floor((o.maxBlockBytes ?? 64 * 2 ** 20) / (4 * ntrain)))
    const predictions = new Int32Array(ntest)
    const scores = new Float64Array(o.numClasses)
    yield* Effect.acquireUseRelease(
      Effect.sync(() => tf.tidy(() => tf.transpose(normalizeRows(input.trainFeatures)))),
      (trainT) =>
        Effect.promise(async () => {
          for (let start = 0; start < ntest; start += chunkRows) {
            const rows = Math.min(chunkRows, ntest - start)
            const [values, indices] = tf.tidy(() => {
              const q = normalizeRows(tf.slice(input.testFeatures, [start, 0], [rows, -1]))
              const top = tf.topk(tf.matMul(q, trainT), k, true)
              return [top.values, top.indices]
            })
            const [sims, idx] = await Promise.all([values.data(), indices.data()]).finally(() => tf.dispose([values, indices]))
            const labels = Int32Array.from(idx, (i) => input.trainLabels[i] ?? 0)
            for (let r = 0; r < rows; r++) predictions[start + r] = vote(sims, labels, r, k, o, scores)
          }
        }),
      (trainT) => Effect.sync(() => trainT.dispose()),
    )
    const labels = input.testLabels
    const top1 = labels === undefined || ntest === 0 ? undefined : predictions.reduce((n, p, i) => n + (p === labels[i] ? 1 : 0), 0) / ntest
    return { predictions, top1, chunkRows }
  })
