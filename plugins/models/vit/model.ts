/**
 * A ViT instance: its config and its parameters as tfjs variables keyed by
 * timm names, created under one of three initialisation schemes:
 *
 * - `timm` (default; timm `init_weights`, mode ""): trunc-normal std 0.02 for
 *   Linear weights and `pos_embed`, normal std 1e-6 for `cls_token`,
 *   PyTorch's default conv init for the patch projection;
 * - `dino` (facebookresearch/dino `VisionTransformer.__init__`): as `timm`
 *   but `cls_token` trunc-normal std 0.02;
 * - `mae` (facebookresearch/mae `MaskedAutoencoderViT.initialize_weights`):
 *   xavier-uniform Linear weights, U(±√(6 / (fan_in + fan_out))), the patch
 *   projection's weight xavier-uniform as the Linear [D, C·p·p] it is
 *   (bias: the conv default), `cls_token` normal std 0.02, `pos_embed` the
 *   fixed 2-D sin-cos embedding with a zero class row (`posEmbed.ts`).
 *
 * In all: biases 0, LayerNorm weight 1 and bias 0.
 */
import * as tf from "@tensorflow/tfjs-core"
import { initSeed } from "../initSeed.ts"
import { gridSize, type VitConfig } from "./config.ts"
import { type ParamSpec, paramSpecs, type TrainableSelection, trainableNames } from "./params.ts"
import { sincosPosEmbed2d } from "./posEmbed.ts"

export interface VitModel {
  /** Registered name of the architecture (e.g. `vitTinyPatch4_28`). */
  readonly arch: string
  readonly config: VitConfig
  /** Every parameter, keyed by its timm name, in state_dict order. */
  readonly params: ReadonlyMap<string, tf.Variable>
}

/** How {@link createVit} draws the parameters (see the module doc). */
export type VitInit = "timm" | "dino" | "mae"

/** xavier-uniform's bound for a weight of `fanOut` rows and `fanIn` columns (`torch.nn.init.xavier_uniform_`, gain 1). */
export const xavierBound = (fanIn: number, fanOut: number): number => Math.sqrt(6 / (fanIn + fanOut))

const initTensor = (s: ParamSpec, c: VitConfig, seed: number, scheme: VitInit): tf.Tensor => {
  const shape = [...s.shape]
  const patchFanIn = c.inChans * c.patchSize * c.patchSize
  const xavier = (fanIn: number, fanOut: number) => {
    const b = xavierBound(fanIn, fanOut)
    return tf.randomUniform(shape, -b, b, "float32", seed)
  }
  // kaiming_uniform(a=√5) on a conv weight and its bias: U(-1/√fan_in, 1/√fan_in).
  const convDefault = () => tf.randomUniform(shape, -1 / Math.sqrt(patchFanIn), 1 / Math.sqrt(patchFanIn), "float32", seed)
  switch (s.init) {
    case "zeros":
      return tf.zeros(shape)
    case "ones":
      return tf.ones(shape)
    case "linear":
      return scheme === "mae" ? xavier(shape[1] ?? 1, shape[0] ?? 1) : tf.truncatedNormal(shape, 0, 0.02, "float32", seed)
    case "cls":
      return scheme === "mae" ? tf.randomNormal(shape, 0, 0.02, "float32", seed)
        : scheme === "dino" ? tf.truncatedNormal(shape, 0, 0.02, "float32", seed)
        : tf.randomNormal(shape, 0, 1e-6, "float32", seed)
    case "pos":
      return scheme === "mae" ? tf.tensor(sincosPosEmbed2d(c.embedDim, gridSize(c), true), shape) : tf.truncatedNormal(shape, 0, 0.02, "float32", seed)
    case "patchWeight":
      return scheme === "mae" ? xavier(patchFanIn, c.embedDim) : convDefault()
    case "patchBias":
      return convDefault()
  }
}

/**
 * Allocates a model with fresh, seeded parameters: each parameter draws from
 * its own stream, `initSeed(seed, timm name)`, so the same seed gives the same
 * weights in any process and any order. Dispose with {@link disposeVit}.
 * The `mae` scheme needs `embedDim` to be a multiple of 4 (throws `InvalidModelConfig`).
 */
export const createVit = (arch: string, config: VitConfig, seed = 0, init: VitInit = "timm"): VitModel => {
  const params = new Map<string, tf.Variable>()
  paramSpecs(config).forEach((s) => {
    const value = initTensor(s, config, initSeed(seed, s.name), init)
    params.set(s.name, tf.variable(value, true))
    value.dispose()
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
