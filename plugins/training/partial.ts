/**
 * The adaptation modes of the paper's sec. 3.1 as parameter selections over
 * `plugins/models` (`trainableNames`): which parameters of a pretrained SSL
 * ViT a downstream stage trains, and how many.
 *
 * - `linear`: the new classification head only (linear evaluation);
 * - `partial-k`: the head, the last k blocks and the final norm (Partial-k;
 *   `partial-1`, the paper's Partial-1, is the default);
 * - `full`: every parameter (fine-tuning).
 *
 * The final norm sits between the last block and the head, so it trains
 * with any trained block (as `trainableNames` decides); it adds 2·D
 * parameters and does not move Table 1's counts: on ViT-B/16 with 1000
 * classes, linear 0.77M, Partial-1 7.86M, fine-tuning 86.57M.
 */
import type * as tf from "@tensorflow/tfjs-core"
import { Data } from "effect"
import type { VitConfig } from "../models/vit/config.ts"
import { trainableParams, type VitModel } from "../models/vit/model.ts"
import { countParams, type TrainableSelection, trainableNames } from "../models/vit/params.ts"

/** An adaptation mode, parsed. */
export type AdaptationMode =
  | { readonly kind: "linear" }
  | { readonly kind: "partial"; readonly blocks: number }
  | { readonly kind: "full" }

/** A mode name that is not `linear`, `full` or `partial-k` with 1 <= k <= depth. */
export class InvalidAdaptationMode extends Data.TaggedError("InvalidAdaptationMode")<{
  readonly mode: string
  /** The model's depth, when known. */
  readonly depth?: number
}> {
  override get message(): string {
    const range = this.depth === undefined ? "k >= 1" : `1 <= k <= ${this.depth} (the model's depth)`
    return `adaptation mode "${this.mode}" is invalid; expected "linear", "full" or "partial-k" with ${range} (e.g. "partial-1")`
  }
}

/** The name of a mode: `linear`, `partial-k` or `full`. */
export const adaptationName = (m: AdaptationMode): string => (m.kind === "partial" ? `partial-${m.blocks}` : m.kind)

/** Parses `linear`, `full` or `partial-k`; with `depth`, k must not exceed it. */
export const parseAdaptationMode = (mode: string, depth?: number): AdaptationMode | InvalidAdaptationMode => {
  if (mode === "linear") return { kind: "linear" }
  if (mode === "full") return { kind: "full" }
  const m = /^partial-([1-9][0-9]*)$/.exec(mode)
  const k = m?.[1] === undefined ? NaN : Number(m[1])
  if (Number.isSafeInteger(k) && (depth === undefined || k <= depth)) return { kind: "partial", blocks: k }
  return depth === undefined ? new InvalidAdaptationMode({ mode }) : new InvalidAdaptationMode({ mode, depth })
}

/** The `TrainableSelection` of a mode. */
export const adaptationSelection = (m: AdaptationMode): TrainableSelection =>
  m.kind === "linear" ? { lastBlocks: 0, head: true, finalNorm: false }
    : m.kind === "full" ? { lastBlocks: "all", head: true, finalNorm: true }
    : { lastBlocks: m.blocks, head: true, finalNorm: true }

/** How many parameters a mode trains on a config, out of how many. */
export interface AdaptationCount {
  readonly mode: string
  readonly trainable: number
  readonly total: number
  /** Trainable parameter names, in state_dict order. */
  readonly names: ReadonlyArray<string>
}

/** Counts without allocating a model (e.g. for a plan or a report's Table 1). */
export const adaptationCount = (config: VitConfig, m: AdaptationMode): AdaptationCount => {
  const names = trainableNames(config, adaptationSelection(m))
  return { mode: adaptationName(m), trainable: countParams(config, names), total: countParams(config), names: [...names] }
}

/** The variables a mode trains (pass to `AdamW` and `tf.variableGrads`), and their count. Throws {@link InvalidAdaptationMode} for k > depth. */
export const adaptationParams = (
  model: VitModel,
  m: AdaptationMode,
): { readonly params: ReadonlyMap<string, tf.Variable>; readonly count: AdaptationCount } => {
  if (m.kind === "partial" && !(Number.isInteger(m.blocks) && m.blocks >= 1 && m.blocks <= model.config.depth)) {
    throw new InvalidAdaptationMode({ mode: adaptationName(m), depth: model.config.depth })
  }
  return { params: trainableParams(model, adaptationSelection(m)), count: adaptationCount(model.config, m) }
}
