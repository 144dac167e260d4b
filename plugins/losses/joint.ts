/**
 * The paper's one-stage objective, eq. 4:
 *
 *   L = CE_S + CE_CL + CE_MIM + L_KD + L_Attn
 *
 * as a composed loss over the roles `student`, `cl`, `mim`. Teachers learn
 * only from their own CE: the KD terms (eq. 1, eq. 3) read teacher logits and
 * maps through a stop-gradient, so ∂L/∂z_CL = ∂CE_CL/∂z_CL, and the student's
 * outputs get CE_S + L_KD + L_Attn. Differentiate one `L` with respect to the
 * student's and both teachers' trainable (Partial-1) parameters together.
 */
import type { Effect } from "effect"
import { losses } from "./builtins.ts"
import { type CompositeLoss, composeLosses, type LossTerm } from "./compose.ts"
import type { UnknownNameError } from "../../dsl/errors.ts"
import type { InvalidLossConfig } from "./errors.ts"
import type { LossRegistry } from "./registry.ts"

export interface JointLossOptions {
  /** l1 of eq. 1 (default 0.5). */
  readonly l1?: number
  /** l2 of eq. 3 (default 0: only the MIM teacher's attention). */
  readonly l2?: number
  /** KD temperature T (default 1). */
  readonly temperature?: number
  /** Student heads for A1_S, A2_S (default [0, 1]). */
  readonly studentHeads?: readonly [number, number]
  /** Teacher heads chosen by Attention Confidence (eq. 2). */
  readonly clHead?: number
  readonly mimHead?: number
  /** Weights of L_KD and L_Attn (default 1 and 1, as eq. 4; 0 drops the term, e.g. the no-attention ablation). */
  readonly kdWeight?: number
  readonly attentionWeight?: number
}

/** Eq. 4 as loss terms, e.g. to write into a stage config or extend. */
export const jointLossTerms = (o: JointLossOptions = {}): ReadonlyArray<LossTerm> => [
  { key: "ce", name: "ce/student", params: { model: "student" } },
  { key: "ce", name: "ce/cl", params: { model: "cl" } },
  { key: "ce", name: "ce/mim", params: { model: "mim" } },
  { key: "kd-output", weight: o.kdWeight ?? 1, params: { lambda: o.l1 ?? 0.5, temperature: o.temperature ?? 1 } },
  {
    key: "kd-attention",
    weight: o.attentionWeight ?? 1,
    params: { lambda: o.l2 ?? 0, studentHeads: [...(o.studentHeads ?? [0, 1])], clHead: o.clHead ?? 0, mimHead: o.mimHead ?? 0 },
  },
]

/** The eq. 4 loss, composed against `registry` (default: the built-ins). */
export const jointLoss = (o: JointLossOptions = {}, registry: LossRegistry = losses): Effect.Effect<CompositeLoss, UnknownNameError | InvalidLossConfig> =>
  composeLosses(registry, jointLossTerms(o))
