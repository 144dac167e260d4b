/**
 * DINO's projection head (Caron et al. 2021, sec. 3.1 and appendix; `DINOHead`
 * in facebookresearch/dino `vision_transformer.py`): an MLP of `nlayers`
 * Linear layers (hidden 2048, GELU between, no BatchNorm), a bottleneck of
 * 256, l2 normalization, then a weight-normalized Linear without bias to K
 * outputs (`nn.utils.weight_norm`, dim 0: W = g · v / ‖v‖ row-wise, g = 1,
 * frozen when `normLastLayer`).
 *
 * Parameter names are DINOHead's state_dict keys (`mlp.0.weight`,
 * `mlp.2.bias`, `last_layer.weight_g`, `last_layer.weight_v`; `mlp.weight`
 * when nlayers = 1); inside DINO's `MultiCropWrapper` checkpoints they carry
 * the prefix `head.` (pass `prefix: "head."`), the backbone `backbone.`.
 *
 * `useBn` (DINO's `--use_bn_in_head`) puts a BatchNorm1d after every hidden
 * Linear (Linear, BN, GELU: `mlp.0`, `mlp.1`, `mlp.3`, `mlp.4`, `mlp.6`),
 * normalizing with the statistics of the rows of the call (training mode,
 * as DINO's student and teacher heads run; no running statistics are kept,
 * nothing evaluates the head). Call the head once on all crops of a
 * network, as `MultiCropWrapper` does, so the statistics span them all.
 */
import * as tf from "@tensorflow/tfjs-core"
import { initSeed } from "../models/initSeed.ts"
import { gelu } from "../models/ops/gelu.ts"
import { linear } from "../models/ops/linear.ts"
import { InvalidObjectiveConfig, ShapeMismatch } from "./errors.ts"

export interface DinoHeadConfig {
  readonly inDim: number
  /** K, the number of prototypes (65536 for DINO ViT-B). */
  readonly outDim: number
  readonly hiddenDim?: number
  readonly bottleneckDim?: number
  readonly nlayers?: number
  /** Freeze g = 1 of the last layer (DINO default true). */
  readonly normLastLayer?: boolean
  /** BatchNorm1d after every hidden Linear, batch statistics (DINO `use_bn`, default false). */
  readonly useBn?: boolean
  /** Prepended to every parameter name (`"head."` in DINO checkpoints). */
  readonly prefix?: string
}

export interface DinoHeadParamSpec {
  readonly name: string
  readonly shape: ReadonlyArray<number>
  readonly init: "trunc02" | "zeros" | "ones" | "linearDefault"
  readonly trainable: boolean
}

export interface DinoHead {
  readonly config: DinoHeadConfig
  /** Every parameter keyed by its DINOHead name, in state_dict order. */
  readonly params: ReadonlyMap<string, tf.Variable>
}

const resolved = (c: DinoHeadConfig) => ({
  hidden: c.hiddenDim ?? 2048,
  bottleneck: c.bottleneckDim ?? 256,
  nlayers: c.nlayers ?? 3,
  prefix: c.prefix ?? "",
})

/** Why the config cannot build a head, or `undefined`. */
export const checkDinoHeadConfig = (c: DinoHeadConfig): InvalidObjectiveConfig | undefined => {
  const r = resolved(c)
  const fields: ReadonlyArray<readonly [string, number]> = [
    ["inDim", c.inDim], ["outDim", c.outDim], ["hiddenDim", r.hidden], ["bottleneckDim", r.bottleneck], ["nlayers", r.nlayers],
  ]
  const bad = fields.find(([, v]) => !Number.isInteger(v) || v < 1)
  return bad === undefined ? undefined : new InvalidObjectiveConfig({ op: "dinoHead", field: bad[0], value: bad[1], expected: "an integer >= 1" })
}

/** The MLP's Linear layers as [state_dict module name, in, out, BatchNorm module name after it or undefined]. */
const mlpLayers = (c: DinoHeadConfig): ReadonlyArray<readonly [string, number, number, string | undefined]> => {
  const r = resolved(c)
  if (r.nlayers === 1) return [["mlp", c.inDim, r.bottleneck, undefined]]
  const dims = [c.inDim, ...Array.from({ length: r.nlayers - 1 }, () => r.hidden), r.bottleneck]
  // nn.Sequential(Linear, [BN,] GELU, Linear, [BN,] GELU, ..., Linear): Linear i sits at index 2i (3i with BN).
  const stride = c.useBn === true ? 3 : 2
  const last = dims.length - 2
  return dims.slice(0, -1).map((d, i) =>
    [`mlp.${stride * i}`, d, dims[i + 1] ?? 0, c.useBn === true && i < last ? `mlp.${stride * i + 1}` : undefined] as const
  )
}

/** Every parameter of the head, in DINOHead's state_dict order. Throws {@link InvalidObjectiveConfig}. */
export const dinoHeadParamSpecs = (c: DinoHeadConfig): ReadonlyArray<DinoHeadParamSpec> => {
  const bad = checkDinoHeadConfig(c)
  if (bad !== undefined) throw bad
  const r = resolved(c)
  const specs: Array<DinoHeadParamSpec> = []
  for (const [m, i, o, bn] of mlpLayers(c)) {
    specs.push({ name: `${r.prefix}${m}.weight`, shape: [o, i], init: "trunc02", trainable: true })
    specs.push({ name: `${r.prefix}${m}.bias`, shape: [o], init: "zeros", trainable: true })
    if (bn !== undefined) {
      specs.push({ name: `${r.prefix}${bn}.weight`, shape: [o], init: "ones", trainable: true })
      specs.push({ name: `${r.prefix}${bn}.bias`, shape: [o], init: "zeros", trainable: true })
    }
  }
  specs.push({ name: `${r.prefix}last_layer.weight_g`, shape: [c.outDim, 1], init: "ones", trainable: c.normLastLayer === false })
  specs.push({ name: `${r.prefix}last_layer.weight_v`, shape: [c.outDim, r.bottleneck], init: "linearDefault", trainable: true })
  return specs
}

/** Names of the last layer's parameters: DINO zeroes their gradients during the first `freeze_last_layer` epochs. */
export const dinoHeadLastLayerNames = (c: DinoHeadConfig): ReadonlyArray<string> => {
  const p = c.prefix ?? ""
  return [`${p}last_layer.weight_g`, `${p}last_layer.weight_v`]
}

/**
 * Allocates a head with DINO's initialisation: trunc-normal(0.02) MLP
 * weights, zero biases, PyTorch's default Linear init for v
 * (U(±1/√bottleneck)), g = 1. Dispose with {@link disposeDinoHead}.
 */
export const createDinoHead = (config: DinoHeadConfig, seed = 0): DinoHead => {
  const params = new Map<string, tf.Variable>()
  const prefix = resolved(config).prefix
  dinoHeadParamSpecs(config).forEach((s) => {
    const shape = [...s.shape]
    // One stream per DINOHead parameter, whatever the prefix, apart from the backbone's streams.
    const drawSeed = initSeed(seed, `DINOHead.${s.name.slice(prefix.length)}`)
    const init = s.init === "zeros" ? tf.zeros(shape)
      : s.init === "ones" ? tf.ones(shape)
      : s.init === "trunc02" ? tf.truncatedNormal(shape, 0, 0.02, "float32", drawSeed)
      : tf.randomUniform(shape, -1 / Math.sqrt(shape[1] ?? 1), 1 / Math.sqrt(shape[1] ?? 1), "float32", drawSeed)
    params.set(s.name, tf.variable(init, s.trainable))
    init.dispose()
  })
  return { config, params }
}

/** Frees every parameter of the head. */
export const disposeDinoHead = (head: DinoHead): void => {
  for (const v of head.params.values()) v.dispose()
}

const get = (head: DinoHead, name: string): tf.Variable => {
  const v = head.params.get(name)
  if (v === undefined) throw new RangeError(`DINO head has no parameter "${name}"`)
  return v
}

/** `nn.BatchNorm1d` in training mode on rows [..., C]: mean and biased variance over every row, eps 1e-5. */
export const batchNorm = (x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor, eps = 1e-5): tf.Tensor => {
  const rows = Array.from({ length: x.rank - 1 }, (_, i) => i)
  const mean = tf.mean(x, rows, true)
  const centered = tf.sub(x, mean)
  const variance = tf.mean(tf.square(centered), rows, true)
  return tf.add(tf.mul(tf.mul(centered, tf.rsqrt(tf.add(variance, eps))), weight), bias)
}

/** `F.normalize(x, dim=-1)`: x / max(‖x‖₂, 1e-12). */
export const l2Normalize = (x: tf.Tensor, eps = 1e-12): tf.Tensor => tf.div(x, tf.maximum(tf.norm(x, "euclidean", -1, true), eps))

/**
 * Features [N, inDim] (the backbone's class token) -> logits [N, K]. Pure
 * tensor function: call it inside `tf.tidy`. Throws {@link ShapeMismatch}.
 */
export const dinoHeadForward = (head: DinoHead, x: tf.Tensor): tf.Tensor => {
  const c = head.config
  if (x.shape[x.rank - 1] !== c.inDim) {
    throw new ShapeMismatch({ op: "dinoHeadForward", field: "features", shape: x.shape, expected: `[..., ${c.inDim}] (the head's inDim)` })
  }
  const p = c.prefix ?? ""
  const layers = mlpLayers(c)
  let h = x
  layers.forEach(([m, , , bn], i) => {
    h = linear(h, get(head, `${p}${m}.weight`), get(head, `${p}${m}.bias`))
    if (bn !== undefined) h = batchNorm(h, get(head, `${p}${bn}.weight`), get(head, `${p}${bn}.bias`))
    if (i < layers.length - 1) h = gelu(h)
  })
  const v = get(head, `${p}last_layer.weight_v`)
  const w = tf.mul(get(head, `${p}last_layer.weight_g`), tf.div(v, tf.norm(v, "euclidean", 1, true)))
  return linear(l2Normalize(h), w)
}
