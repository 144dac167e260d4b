/**
 * A weighted sum of registered losses, built from config (torchdistill's
 * `WeightedSumLoss`, `configs/sample/ilsvrc2012/kd/*.yaml`):
 *
 *   L = Σ_i w_i · L_i
 *
 * Every term is resolved and its params decoded when the sum is composed
 * (pipeline build time): an unknown key, a bad param or a repeated term name
 * fails before any tensor exists. Each call returns the total and, for
 * logging, every term's unweighted value under its name and its own parts
 * under `name/part` (e.g. `kd-output/mim`). Terms with weight 0 are skipped.
 */
import * as tf from "@tensorflow/tfjs-core"
import { Effect, Schema } from "effect"
import { Config } from "../../dsl/index.ts"
import type { UnknownNameError } from "../../dsl/errors.ts"
import { InvalidLossConfig } from "./errors.ts"
import type { LossFn, LossInputs, LossResult } from "./loss.ts"
import type { LossRegistry } from "./registry.ts"

/** One term of a composed loss, as written in a stage config. */
export const LossTerm = Schema.Struct({
  /** Registry key, e.g. `kd-output`. */
  key: Schema.String,
  /** w_i >= 0 (default 1). */
  weight: Config.withDefault(Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)), 1),
  /** The loss's own params (decoded by its schema when composed). */
  params: Schema.optional(Schema.Record(Schema.String, Schema.Unknown)),
  /** Name in logs (default: the key); needed when two terms share a key (eq. 4's three CE terms). */
  name: Schema.optional(Schema.String),
})
export type LossTerm = typeof LossTerm.Encoded

/** A stage config field holding a composed loss. */
export const LossTerms = Schema.Array(LossTerm)

/** A composed loss: its resolved terms, and the function of a batch. */
export interface CompositeLoss {
  readonly terms: ReadonlyArray<{ readonly name: string; readonly key: string; readonly weight: number }>
  /** Total and components; call inside `tf.tidy` / `tf.variableGrads` (the scalars belong to that scope). */
  readonly compute: (inputs: LossInputs) => LossResult
}

/** Resolves and validates every term; fails with {@link UnknownNameError} or {@link InvalidLossConfig}. */
export const composeLosses = (
  registry: LossRegistry,
  terms: ReadonlyArray<LossTerm>,
): Effect.Effect<CompositeLoss, UnknownNameError | InvalidLossConfig> =>
  Effect.gen(function* () {
    const built: Array<{ readonly name: string; readonly key: string; readonly weight: number; readonly fn: LossFn }> = []
    for (const term of terms) {
      const name = term.name ?? term.key
      const weight = term.weight ?? 1
      if (!(Number.isFinite(weight) && weight >= 0)) {
        return yield* new InvalidLossConfig({ term: name, field: "weight", value: String(weight), expected: "a finite number >= 0" })
      }
      if (built.some((b) => b.name === name)) {
        return yield* new InvalidLossConfig({ term: name, field: "name", value: `"${name}"`, expected: "a name no other term has; set `name` on terms that share a key" })
      }
      const entry = yield* registry.get(term.key)
      const fn = yield* entry.build(term.params ?? {}, name)
      built.push({ name, key: term.key, weight, fn })
    }
    if (built.length === 0) return yield* new InvalidLossConfig({ term: "(loss)", field: "terms", value: "[]", expected: "at least one term" })
    const compute = (inputs: LossInputs): LossResult => {
      const components: Record<string, tf.Scalar> = {}
      const weighted: Array<tf.Scalar> = []
      for (const { name, weight, fn } of built) {
        if (weight === 0) continue
        const r = fn(inputs)
        components[name] = r.total
        for (const [part, v] of Object.entries(r.components)) components[`${name}/${part}`] = v
        weighted.push(weight === 1 ? r.total : tf.mul(r.total, weight))
      }
      const total = weighted.length === 0 ? tf.scalar(0) : weighted.length === 1 ? tf.clone(weighted[0]!) : tf.addN(weighted)
      return { total, components }
    }
    return { terms: built.map(({ name, key, weight }) => ({ name, key, weight })), compute }
  })

/** Reads every component back to the host (one sync per scalar), e.g. for a step's log line. */
export const componentValues = (r: LossResult): Record<string, number> =>
  Object.fromEntries([["total", r.total.dataSync()[0] ?? NaN], ...Object.entries(r.components).map(([k, v]) => [k, v.dataSync()[0] ?? NaN])])
