/**
 * The parameters of a ViT, named exactly as timm's state_dict keys and in
 * PyTorch layouts (conv [D,C,p,p], Linear [out,in]), grouped by block so a
 * stage can train only the last k blocks (the paper's Partial-k, sec. 3.1).
 */
import { globalPoolOf, gridSize, mlpHidden, type VitConfig } from "./config.ts"

export interface ParamSpec {
  /** timm key, e.g. `blocks.3.attn.qkv.weight`. */
  readonly name: string
  readonly shape: ReadonlyArray<number>
  readonly group: ParamGroup
  /**
   * What it is, for the initialisation schemes of `model.ts`: a Linear
   * weight (`linear`, PyTorch layout [out, in]), the patch projection's conv
   * weight (`patchWeight`) and bias (`patchBias`), the class token, the
   * position embedding, a LayerNorm weight (`ones`) or any bias (`zeros`).
   */
  readonly init: "zeros" | "ones" | "linear" | "cls" | "pos" | "patchWeight" | "patchBias"
}

/** Embedding (patch, cls, pos), one block, final norm (`norm`, or `fc_norm` with average pooling), or head. */
export type ParamGroup =
  | { readonly kind: "embed" }
  | { readonly kind: "block"; readonly index: number }
  | { readonly kind: "norm" }
  | { readonly kind: "head" }

const blockSpecs = (c: VitConfig, i: number): Array<ParamSpec> => {
  const d = c.embedDim
  const h = mlpHidden(c)
  const group: ParamGroup = { kind: "block", index: i }
  const b = `blocks.${i}.`
  return [
    { name: `${b}norm1.weight`, shape: [d], group, init: "ones" },
    { name: `${b}norm1.bias`, shape: [d], group, init: "zeros" },
    { name: `${b}attn.qkv.weight`, shape: [3 * d, d], group, init: "linear" },
    { name: `${b}attn.qkv.bias`, shape: [3 * d], group, init: "zeros" },
    { name: `${b}attn.proj.weight`, shape: [d, d], group, init: "linear" },
    { name: `${b}attn.proj.bias`, shape: [d], group, init: "zeros" },
    { name: `${b}norm2.weight`, shape: [d], group, init: "ones" },
    { name: `${b}norm2.bias`, shape: [d], group, init: "zeros" },
    { name: `${b}mlp.fc1.weight`, shape: [h, d], group, init: "linear" },
    { name: `${b}mlp.fc1.bias`, shape: [h], group, init: "zeros" },
    { name: `${b}mlp.fc2.weight`, shape: [d, h], group, init: "linear" },
    { name: `${b}mlp.fc2.bias`, shape: [d], group, init: "zeros" },
  ]
}

/** Every parameter of the config, in timm's state_dict order. */
export const paramSpecs = (c: VitConfig): ReadonlyArray<ParamSpec> => {
  const d = c.embedDim
  const g = gridSize(c)
  const embed: ParamGroup = { kind: "embed" }
  const specs: Array<ParamSpec> = [
    { name: "cls_token", shape: [1, 1, d], group: embed, init: "cls" },
    { name: "pos_embed", shape: [1, g * g + 1, d], group: embed, init: "pos" },
    { name: "patch_embed.proj.weight", shape: [d, c.inChans, c.patchSize, c.patchSize], group: embed, init: "patchWeight" },
    { name: "patch_embed.proj.bias", shape: [d], group: embed, init: "patchBias" },
  ]
  for (let i = 0; i < c.depth; i++) specs.push(...blockSpecs(c, i))
  // timm: `norm` is nn.Identity under average pooling, which normalizes the pooled token by `fc_norm` instead.
  const norm = globalPoolOf(c) === "avg" ? "fc_norm" : "norm"
  specs.push(
    { name: `${norm}.weight`, shape: [d], group: { kind: "norm" }, init: "ones" },
    { name: `${norm}.bias`, shape: [d], group: { kind: "norm" }, init: "zeros" },
  )
  if (c.numClasses > 0) {
    specs.push(
      { name: "head.weight", shape: [c.numClasses, d], group: { kind: "head" }, init: "linear" },
      { name: "head.bias", shape: [c.numClasses], group: { kind: "head" }, init: "zeros" },
    )
  }
  return specs
}

const size = (shape: ReadonlyArray<number>): number => shape.reduce((a, b) => a * b, 1)

/** Number of scalar parameters (ViT-Ti/16: 5,717,416; ViT-B/16: 86,567,656 with 1000 classes). */
export const countParams = (c: VitConfig, names?: ReadonlySet<string>): number =>
  paramSpecs(c).filter((s) => names === undefined || names.has(s.name)).reduce((n, s) => n + size(s.shape), 0)

/** Which parameters a stage trains; everything else stays frozen. */
export interface TrainableSelection {
  /** Train the last k transformer blocks (Partial-k); 0 for none. `"all"` trains every block and the embeddings. */
  readonly lastBlocks: number | "all"
  /** Train the classification head. */
  readonly head: boolean
  /** Train the final norm (`norm`, or `fc_norm` under average pooling); defaults to true when any block is trained. */
  readonly finalNorm?: boolean
}

/**
 * The names of the trainable parameters under a selection. Partial-1 on
 * ViT-B/16 with 1000 classes: `{ lastBlocks: 1, head: true }`, 7.86M
 * parameters (paper, Table 1); linear evaluation: `{ lastBlocks: 0, head: true }`.
 */
export const trainableNames = (c: VitConfig, sel: TrainableSelection): ReadonlySet<string> => {
  const k = sel.lastBlocks === "all" ? c.depth : Math.max(0, Math.min(c.depth, Math.floor(sel.lastBlocks)))
  const norm = sel.finalNorm ?? k > 0
  const out = new Set<string>()
  for (const s of paramSpecs(c)) {
    const g = s.group
    const keep = g.kind === "embed" ? sel.lastBlocks === "all"
      : g.kind === "block" ? g.index >= c.depth - k
      : g.kind === "norm" ? norm
      : sel.head
    if (keep) out.add(s.name)
  }
  return out
}
