/**
 * Attention Confidence (Voita et al. 2019, sec. 4.1), the paper's eq. 2, the
 * measure that picks which teacher head eq. 3 distils:
 *
 *   C_h = (1/|Q|) Σ_{q ∈ Q} max_{k ∈ K} A_h(q, k)
 *
 * for every head h of one layer, averaged over images (a calibration subset).
 * A head whose rows are one-hot has C = 1; a uniform head over T keys 1/T.
 *
 * Which queries count: the paper is silent; Voita et al. average over all
 * tokens. By default every row counts, the class token's included
 * (`queries: "all"`); `queries: "patches"` drops the first `prefixTokens`
 * rows. Keys are always all T columns (the max may fall on the class token),
 * since each row is the distribution the head actually emits.
 *
 * The head to transfer is the argmax of C over heads; ties go to the lowest
 * index, so the choice is deterministic.
 */
import * as tf from "@tensorflow/tfjs-core"
import { InvalidAnalysisOption, InvalidAttentionShape } from "./errors.ts"

export interface AttentionConfidenceOptions {
  /** `"all"` (default): every query row; `"patches"`: the rows after the prefix (class) tokens. */
  readonly queries?: "all" | "patches"
  /** Leading non-patch tokens, dropped as queries under `"patches"` (default 1). */
  readonly prefixTokens?: number
}

const OP = "attentionConfidence"

/** Why a map of this shape cannot be measured, or `undefined`. */
export const checkAttentionConfidence = (
  shape: ReadonlyArray<number>,
  o: AttentionConfidenceOptions = {},
  field = "attention",
): InvalidAttentionShape | InvalidAnalysisOption | undefined => {
  const pre = o.prefixTokens ?? 1
  if (!Number.isInteger(pre) || pre < 0) return new InvalidAnalysisOption({ op: OP, field: "prefixTokens", value: pre, expected: "an integer >= 0" })
  const q = o.queries ?? "all"
  if (q !== "all" && q !== "patches") return new InvalidAnalysisOption({ op: OP, field: "queries", value: q, expected: `"all" or "patches"` })
  const [b, h, t, t2] = shape
  const rows = q === "all" ? (t ?? 0) : (t ?? 0) - pre
  if (shape.length !== 4 || b === undefined || h === undefined || t === undefined || b === 0 || h === 0 || t !== t2 || rows < 1) {
    const need = q === "all" ? "T >= 1" : `T > ${pre} prefix token(s)`
    return new InvalidAttentionShape({ op: OP, field, shape, expected: `[B, H, T, T] with B, H >= 1 and ${need}` })
  }
  return undefined
}

/** Per head, Σ over images of mean_q max_k A_h(q, k): [H]. Divide by B for the batch mean; sums over batches give the dataset mean. */
export const attentionConfidenceSums = (attn: tf.Tensor, o: AttentionConfidenceOptions = {}): tf.Tensor1D => {
  const bad = checkAttentionConfidence(attn.shape, o)
  if (bad !== undefined) throw bad
  const [b = 0, h = 0, t = 0] = attn.shape
  const skip = (o.queries ?? "all") === "patches" ? (o.prefixTokens ?? 1) : 0
  return tf.tidy(() => {
    const rows = skip === 0 ? attn : tf.slice(attn, [0, 0, skip, 0], [b, h, t - skip, t])
    return tf.sum(tf.mean(tf.max(rows, -1), -1), 0)
  })
}

/** C_h of one batch of maps [B, H, T, T]: [H]. Throws {@link InvalidAttentionShape} / {@link InvalidAnalysisOption}. */
export const attentionConfidence = (attn: tf.Tensor, o: AttentionConfidenceOptions = {}): tf.Tensor1D => {
  const sums = attentionConfidenceSums(attn, o)
  const b = attn.shape[0] ?? 1
  return tf.tidy(() => {
    const mean = tf.div<tf.Tensor1D>(sums, b)
    sums.dispose()
    return mean
  })
}

/** The index of the largest value, the lowest on ties; -1 for an empty list. */
export const argmaxHead = (perHead: ReadonlyArray<number>): number =>
  perHead.reduce((best, c, h) => (best < 0 || c > (perHead[best] ?? -Infinity) ? h : best), -1)

/** The full table of eq. 2 for one layer and the head it selects. */
export interface AttentionConfidenceResult {
  /** `perHead[h]` = C_h, averaged over `images`. */
  readonly perHead: ReadonlyArray<number>
  /** argmax_h C_h (lowest index on ties). */
  readonly best: number
  readonly images: number
  readonly queries: "all" | "patches"
}

/**
 * Accumulates C_h over batches of one layer's maps in float64 on the host.
 *
 * @example
 * const meter = new AttentionConfidenceMeter()
 * for (const images of calibration) {
 *   const out = forwardIntermediates(teacher, images, { indices: [-1], attention: true })
 *   await meter.add(out.intermediates[0]!.attn!)
 *   ...dispose out
 * }
 * const { best } = meter.result()   // the head eq. 3 distils
 */
export class AttentionConfidenceMeter {
  private sums: Float64Array | undefined
  private count = 0

  constructor(readonly options: AttentionConfidenceOptions = {}) {}

  /** Adds one batch [B, H, T, T]; throws {@link InvalidAttentionShape} if it does not fit (or has another head count than earlier batches). */
  async add(attn: tf.Tensor): Promise<void> {
    const h = attn.shape[1] ?? 0
    if (this.sums !== undefined && this.sums.length !== h) {
      throw new InvalidAttentionShape({ op: "AttentionConfidenceMeter", field: "attention", shape: attn.shape, expected: `${this.sums.length} heads, as in earlier batches` })
    }
    const sums = attentionConfidenceSums(attn, this.options)
    const data = await sums.data()
    sums.dispose()
    const acc = this.sums ?? new Float64Array(h)
    data.forEach((v, i) => (acc[i] = (acc[i] ?? 0) + v))
    this.sums = acc
    this.count += attn.shape[0] ?? 0
  }

  /** C_h per head and the argmax; an empty meter gives an empty table and best = -1. */
  result(): AttentionConfidenceResult {
    const perHead = Array.from(this.sums ?? [], (s) => s / Math.max(1, this.count))
    return { perHead, best: argmaxHead(perHead), images: this.count, queries: this.options.queries ?? "all" }
  }
}
