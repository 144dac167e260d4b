/**
 * `paper/export-student`: a trained student as a timm checkpoint folder
 * (the layout `timm.create_model("hf-hub:...")` / `push_to_hf_hub` use):
 *
 * - `model.safetensors`: every parameter under timm's `VisionTransformer`
 *   names and PyTorch layouts (`cls_token`, `pos_embed`,
 *   `patch_embed.proj.weight`, `blocks.N.attn.qkv.weight`, ..., `norm.*`,
 *   `head.*`): the `DistilledStudent` state as it is (the project's ViT is
 *   timm-named throughout), in state_dict order, F32 (or `dtype`);
 * - `config.json`: `architecture` (a timm model name), `num_classes`,
 *   `num_features`, `global_pool`, `label_names`, `model_args` (the
 *   overrides that give this shape: `img_size`, `patch_size`, `in_chans`,
 *   `embed_dim`, `depth`, `num_heads`, `mlp_ratio`, `num_classes`) and
 *   `pretrained_cfg` (`input_size`, `mean`, `std`, `interpolation`,
 *   `crop_pct`, `first_conv`, `classifier`, ...), plus an `ssl_kd` record
 *   (ssl-kd architecture name, method, teachers, dataset, seed). Every
 *   `model_args` key is a keyword of timm's `VisionTransformer.__init__`
 *   (timm/models/vision_transformer.py), so `create_model(architecture,
 *   **model_args)` builds this shape whatever the named default;
 * - `README.md`: a model card: what was distilled from what (method, Table 2
 *   row, teachers with their role, training mode and Attention-Confidence
 *   head), the data (dataset, classes, images, input size and normalization,
 *   preprocessing), the training record (epochs, batch, lr, final losses,
 *   time) and how to load it in timm. Accuracies are not an input of this
 *   stage; the card points to the report for them.
 *
 * timm: `timm.create_model(cfg["architecture"], pretrained=False, **cfg["model_args"])`
 * then `load_state_dict(safetensors.torch.load_file("model.safetensors"))`.
 */
import { Effect, Schema } from "effect"
import { Artifact, Config, Stage, StageContext } from "../../../dsl/index.ts"
import { encodeSafetensors } from "../../checkpoints/safetensors/encode.ts"
import type { VitConfig } from "../../models/vit/config.ts"
import { paramSpecs } from "../../models/vit/params.ts"
import { Datasets } from "../../datasets/builtins.ts"
import { StageConfigError } from "../../training/errors.ts"
import { DistilledStudent, type DistilledStudentValue } from "./distilledArtifact.ts"

const NAME = "paper/export-student"

/** A timm checkpoint folder: `model.safetensors`, `config.json` and the `README.md` model card. */
export const TimmCheckpoint = Artifact.files("TimmCheckpoint")

/** The timm model name whose default shape is `c`'s width, depth and heads (224 px, patch 16 defaults; `model_args` override the rest). */
export const timmArchitecture = (c: Pick<VitConfig, "embedDim" | "depth" | "numHeads">): string => {
  const known: ReadonlyArray<readonly [string, number, number, number]> = [
    ["vit_tiny_patch16_224", 192, 12, 3],
    ["vit_small_patch16_224", 384, 12, 6],
    ["vit_base_patch16_224", 768, 12, 12],
    ["vit_large_patch16_224", 1024, 24, 16],
  ]
  // Any other shape: timm's ViT-Ti entry, every shape field overridden by `model_args`.
  return known.find(([, d, l, h]) => d === c.embedDim && l === c.depth && h === c.numHeads)?.[0] ?? "vit_tiny_patch16_224"
}

/** The `config.json` of a student (timm hub format, plus an `ssl_kd` record). */
export const timmConfig = (s: DistilledStudentValue, architecture: string) => {
  const c = s.info.config
  const d = s.distillation
  return {
    architecture,
    num_classes: c.numClasses,
    num_features: c.embedDim,
    global_pool: "token",
    label_names: [...d.classes],
    model_args: {
      img_size: c.imgSize,
      patch_size: c.patchSize,
      in_chans: c.inChans,
      embed_dim: c.embedDim,
      depth: c.depth,
      num_heads: c.numHeads,
      mlp_ratio: c.mlpRatio,
      num_classes: c.numClasses,
      global_pool: "token",
      class_token: true,
      qkv_bias: true,
    },
    pretrained_cfg: {
      tag: `ssl-kd.${d.method}`,
      input_size: [c.inChans, c.imgSize, c.imgSize],
      fixed_input_size: true,
      interpolation: "bilinear",
      crop_pct: 1.0,
      crop_mode: "center",
      mean: [...s.info.normalization.mean],
      std: [...s.info.normalization.std],
      num_classes: c.numClasses,
      pool_size: null,
      first_conv: "patch_embed.proj",
      classifier: "head",
      license: "unknown",
    },
    ssl_kd: {
      arch: s.info.arch,
      teacher: s.info.teacher,
      method: d.method,
      teachers: d.teachers.map((t) => ({ ...t })),
      dataset: d.dataset,
      images: d.images,
      epochs: d.epochs,
      seed: d.seed,
    },
  }
}

const methodText: Readonly<Record<DistilledStudentValue["distillation"]["method"], string>> = {
  joint: "one-stage joint distillation from a contrastive (DINO) and a masked-image-modeling (MAE) teacher (sec. 3.4, eq. 4; Table 2 \"ours\")",
  "kd-single": "two-stage knowledge distillation from one fine-tuned teacher (eq. 1; Table 2 KD row)",
  "student-alone": "the student trained alone on its cross-entropy, no teacher (Table 2 baseline)",
}

const num = (x: number | undefined): string => (x === undefined ? "n/a" : Number.isInteger(x) ? String(x) : x.toPrecision(4))

/** The `README.md` model card of an exported student (see the module comment). */
export const modelCard = (s: DistilledStudentValue, architecture: string, preprocessing: string | undefined): string => {
  const c = s.info.config
  const d = s.distillation
  const teachers = d.teachers.length === 0
    ? ["- none"]
    : d.teachers.map((t) => `- \`${t.role}\`: ${t.teacher} (${t.mode === "frozen" ? "frozen" : `${t.mode}, ${t.trainable} parameters trained`})` +
        (t.layer === undefined ? "" : `, attention of block ${t.layer} head ${t.head ?? "n/a"} (chosen by Attention Confidence, eq. 2)`))
  const finals = Object.entries(d.components).map(([k, v]) => `${k} ${num(v.at(-1))}`)
  return [
    `# ${s.info.arch}: an ssl-kd student (${d.method})`,
    "",
    `A ViT (${c.depth} blocks, width ${c.embedDim}, ${c.numHeads} heads, patch ${c.patchSize}, ${c.imgSize}x${c.imgSize}x${c.inChans} input, ${c.numClasses} classes) ` +
      `trained by ${methodText[d.method]}, exported in timm's layout as \`${architecture}\` with shape overrides.`,
    "",
    "## Distilled from",
    ...teachers,
    d.studentLayer === undefined ? "" : `\nThe student's block ${d.studentLayer} receives the teachers' attention maps (eq. 3).`,
    "",
    "## Data",
    `- dataset: \`${d.dataset}\`, ${d.images} training images, ${d.classes.length} classes: ${d.classes.join(", ")}`,
    `- input: ${c.inChans}x${c.imgSize}x${c.imgSize}, normalized with mean [${s.info.normalization.mean.join(", ")}], std [${s.info.normalization.std.join(", ")}]`,
    ...(preprocessing === undefined ? [] : [`- preprocessing: ${preprocessing}`]),
    "",
    "## Training",
    `- ${d.epochs} epochs (${d.epochsRunHere} in the last run), batch ${d.batchSize}, lr ${num(d.lr)}, weight decay ${num(d.weightDecay)}, seed ${d.seed}, ${num(d.seconds)} s`,
    `- loss terms: ${d.terms.map((t) => `${t.name} x ${num(t.weight)}`).join(", ") || "n/a"}`,
    `- last-epoch total loss ${num(d.losses.epochs.at(-1))}${finals.length > 0 ? `; components: ${finals.join(", ")}` : ""}`,
    "- accuracies (top-1, k-NN, downstream): not known to the export stage; see the run's report (`ssl-kd run paper ...`).",
    "",
    "## Use",
    "```python",
    "import json, timm, safetensors.torch",
    "cfg = json.load(open(\"config.json\"))",
    "model = timm.create_model(cfg[\"architecture\"], pretrained=False, **cfg[\"model_args\"])",
    "model.load_state_dict(safetensors.torch.load_file(\"model.safetensors\"))",
    "```",
    "",
    "Files: `model.safetensors` (timm names, PyTorch layouts), `config.json` (timm hub format plus an `ssl_kd` record), this card.",
    "",
  ].join("\n")
}

/** The student as a timm checkpoint folder (`model.safetensors` + `config.json` + `README.md`). */
export const exportStudent = Stage.make({
  name: NAME,
  description: "a distilled student as a timm checkpoint: model.safetensors (timm names) + config.json (architecture, model_args, pretrained_cfg, label names) + README.md (model card)",
  config: Schema.Struct({
    /** Storage dtype of the weights. */
    dtype: Config.withDefault(Schema.Literals(["F32", "F16", "BF16"]), "F32"),
    /** timm model name for `config.json` (empty: from the width / depth / heads, see `timmArchitecture`). */
    architecture: Config.withDefault(Schema.String, ""),
  }),
  inputs: { model: DistilledStudent },
  output: TimmCheckpoint,
  run: ({ config: c, inputs }) =>
    Effect.gen(function* () {
      const ctx = yield* StageContext
      const s = inputs.model
      const specs = paramSpecs(s.info.config)
      const missing = specs.filter((p) => !s.state.has(p.name)).map((p) => p.name)
      if (missing.length > 0 || s.state.size !== specs.length) {
        const extra = [...s.state.keys()].filter((k) => !specs.some((p) => p.name === k))
        return yield* new StageConfigError({
          stage: NAME,
          field: "model.state",
          value: `${s.state.size} tensors (missing: ${missing.join(", ") || "none"}; unexpected: ${extra.join(", ") || "none"})`,
          expected: `the ${specs.length} parameters of ${s.info.arch} under timm names`,
        })
      }
      const tensors = specs.map((p) => {
        const t = s.state.get(p.name)
        return { name: p.name, shape: [...p.shape], data: t?.data ?? new Float32Array(), dtype: c.dtype }
      })
      const architecture = c.architecture === "" ? timmArchitecture(s.info.config) : c.architecture
      const weights = yield* Effect.try({
        try: () => encodeSafetensors(tensors, { format: "pt", "ssl-kd.arch": s.info.arch, "ssl-kd.method": s.distillation.method }),
        catch: (e) => new StageConfigError({ stage: NAME, field: "model.state", value: e instanceof Error ? e.message : String(e), expected: "tensors whose data fit their shapes" }),
      })
      const config = new TextEncoder().encode(`${JSON.stringify(timmConfig(s, architecture), null, 2)}\n`)
      const preprocessing = yield* (yield* Datasets).resolve(s.distillation.dataset).pipe(
        Effect.map((spec) => spec.preprocessing),
        Effect.orElseSucceed(() => undefined),
      )
      const card = new TextEncoder().encode(modelCard(s, architecture, preprocessing))
      yield* ctx.log(`${NAME}: ${s.info.arch} as ${architecture} (${specs.length} tensors, ${c.dtype}, ${s.distillation.classes.length} classes)`)
      return new Map([["model.safetensors", weights], ["config.json", config], ["README.md", card]])
    }),
})
