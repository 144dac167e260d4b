/**
 * A ViT instance: its config and its parameters as tfjs variables keyed by
 * timm names. Created with timm's initialisation (trunc-normal std 0.02 for
 * Linear weights and pos_embed, 1e-6 normal for cls_token, PyTorch's default
 * conv init for the patch projection, LayerNorm 1/0).
 */
import * as tf from "@tensorflow/tfjs-core"
import { initSeed } from "../initSeed.ts"
import type { VitConfig } from "./config.ts"
import { type ParamSpec, paramSpecs, type TrainableSelection, trainableNames } from "./params.ts"

export interface VitModel {
  /** Registered name of the architecture (e.g. `vitTinyPatch4_28`). */
  readonly arch: string
  readonly config: VitConfig
  /** Every parameter, keyed by its timm name, in state_dict order. */
  readonly params: ReadonlyMap<string, tf.Variable>
}

const initTensor = (s: ParamSpec, c: VitConfig, seed: number): tf.Tensor => {
  const shape = [...s.shape]
  switch (s.init) {
    case "zeros":
      return tf.zeros(shape)
    case "ones":
      return tf.ones(shape)
    case "trunc02":
      return tf.truncatedNormal(shape, 0, 0.02, "float32", seed)
    case "cls":
      return tf.randomNormal(shape, 0, 1e-6, "float32", seed)
    case "convDefault": {
      // kaiming_uniform(a=√5) on the weight and its bias: U(-1/√fan_in, 1/√fan_in).
      const bound = 1 / Math.sqrt(c.inChans * c.patchSize * c.patchSize)
      return tf.randomUniform(shape, -bound, bound, "float32", seed)
    }
  }
}

/**
 * Allocates a model with fresh, seeded parameters: each parameter draws from
 * its own stream, `initSeed(seed, timm name)`, so the same seed gives the same
 * weights in any process and any order. Dispose with {@link disposeVit}.
 */
export const createVit = (arch: string, config: VitConfig, seed = 0): VitModel => {
  const params = new Map<string, tf.Variable>()
  paramSpecs(config).forEach((s) => {
    const init = initTensor(s, config, initSeed(seed, s.name))
    params.set(s.name, tf.variable(init, true))
    init.dispose()
  })
  return { arch, config, params }
}

/** Frees every parameter of the model. */
export const disposeVit = (model: VitModel): void => {
  for (const v of model.params.values()) v.dispose()
}

/** The parameter under a timm name; a missing name is a programming error. */
export const param = (model: VitModel, name: string): tf.Variable => {
  const v = model.params.get(name)
  if (v === undefined) throw new RangeError(`model "${model.arch}" has no parameter "${name}"`)
  return v
}

/**
 * The variables a stage should train (e.g. Partial-1: `{ lastBlocks: 1, head: true }`),
 * to pass to an optimizer's `varList` or `tf.variableGrads`.
 */
export const trainableParams = (model: VitModel, sel: TrainableSelection): ReadonlyMap<string, tf.Variable> => {
  const names = trainableNames(model.config, sel)
  return new Map([...model.params].filter(([name]) => names.has(name)))
}
