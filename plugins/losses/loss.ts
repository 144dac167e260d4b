/**
 * What a loss is: a function of one batch's model outputs (and labels) to a
 * scalar plus its named components for logging, built from validated params.
 * Shaped like torchdistill's losses (`torchdistill/losses/mid_level.py`):
 * each reads the io dicts of the models it names, by role, so the same loss
 * serves the paper's two teachers (roles `cl`, `mim`) and the single-teacher
 * comparison runs.
 */
import type * as tf from "@tensorflow/tfjs-core"
import { Effect, Schema } from "effect"
import { InvalidLossConfig, MissingLossInput } from "./errors.ts"

/** One model's outputs on a batch; a loss reads the fields it needs. */
export interface ModelOutputs {
  /** Classification logits [B, K]. */
  readonly logits?: tf.Tensor
  /** Attention weights of the distilled layer [B, H, T, T] (rows sum to 1), from `forwardIntermediates`. */
  readonly attention?: tf.Tensor
  /** Features to match [B, ...] (for a student: already projected to the teacher's width). */
  readonly features?: tf.Tensor
  /** Logits of a distillation head or token [B, K] (DeiT); losses fall back to `logits`. */
  readonly distLogits?: tf.Tensor
}

/** One batch: integer labels and every model's outputs by role (`student`, `cl`, `mim`, ...). */
export interface LossInputs {
  /** Class indices [B] (int32). */
  readonly labels?: tf.Tensor
  readonly outputs: Readonly<Record<string, ModelOutputs>>
}

/** A loss value and its parts (unweighted), both scalars owned by the caller's `tf.tidy`. */
export interface LossResult {
  readonly total: tf.Scalar
  readonly components: Readonly<Record<string, tf.Scalar>>
}

/** A configured loss. Throws the typed errors of `errors.ts` on inputs that do not fit. */
export type LossFn = (inputs: LossInputs) => LossResult

/** A registry entry: its key, a one-line description, and its params decoder + builder (types erased). */
export interface LossEntry {
  readonly key: string
  readonly description: string
  /** Decodes untrusted `params` (defaults applied) and builds the loss; `term` names it in errors. */
  readonly build: (params: unknown, term: string) => Effect.Effect<LossFn, InvalidLossConfig>
}

type ParamsSchema = Schema.Top & { readonly DecodingServices: never }

const render = (u: unknown): string => {
  try {
    return JSON.stringify(u) ?? String(u)
  } catch {
    return String(u)
  }
}

/**
 * Declares a loss: `params` is an Effect Schema (with `Config.withDefault`
 * fields), decoded strictly (unknown fields fail) when the loss is composed,
 * i.e. when the pipeline is built, not when the first batch runs.
 */
export const defineLoss = <S extends ParamsSchema>(d: {
  readonly key: string
  readonly description: string
  readonly params: S
  readonly make: (params: S["Type"]) => LossFn
}): LossEntry => ({
  key: d.key,
  description: d.description,
  build: (params, term) =>
    Schema.decodeUnknownEffect(d.params)(params ?? {}, { errors: "all", onExcessProperty: "error" }).pipe(
      Effect.mapError((e) => new InvalidLossConfig({ term, field: "params", value: render(params).slice(0, 200), expected: e.message })),
      Effect.map(d.make),
    ),
})

/** `inputs.outputs[role][field]`, or {@link MissingLossInput} naming what is there. */
export const need = (loss: string, inputs: LossInputs, role: string, field: keyof ModelOutputs): tf.Tensor => {
  const t = inputs.outputs[role]?.[field]
  if (t !== undefined) return t
  const available = Object.entries(inputs.outputs).flatMap(([r, o]) => Object.keys(o).map((f) => `outputs.${r}.${f}`))
  if (inputs.labels !== undefined) available.unshift("labels")
  throw new MissingLossInput({ loss, field: `outputs.${role}.${field}`, available })
}

/** The labels, or {@link MissingLossInput}. */
export const needLabels = (loss: string, inputs: LossInputs): tf.Tensor => {
  if (inputs.labels !== undefined) return inputs.labels
  const available = Object.entries(inputs.outputs).flatMap(([r, o]) => Object.keys(o).map((f) => `outputs.${r}.${f}`))
  throw new MissingLossInput({ loss, field: "labels", available })
}
