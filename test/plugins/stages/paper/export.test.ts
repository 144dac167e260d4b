/**
 * `paper/export-student`: the exported `model.safetensors` holds timm's
 * names (listed here by hand for a 2-block ViT) and loads back with the
 * project's timm checkpoint loader (`loadVitCheckpoint`, timm filter on) into
 * a ViT built from `config.json`'s `model_args` alone, whose logits equal the
 * student's bit for bit (F32) or within half precision (F16); `config.json`
 * carries timm's fields (architecture, num_classes, label names, input size,
 * mean / std); a student with a missing tensor is refused, naming it.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import * as tf from "@tensorflow/tfjs-core"
import { Effect, Exit } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { execFileSync } from "node:child_process"
import { existsSync } from "node:fs"
import { readSafetensors, writeSafetensors } from "../../../../plugins/checkpoints/safetensors/file.ts"
import { loadVitCheckpoint } from "../../../../plugins/checkpoints/vitCheckpoint.ts"
import { vitBasePatch16_224, vitMicroPatch7_28, vitTinyPatch16_224 } from "../../../../plugins/models/variants.ts"
import { forward } from "../../../../plugins/models/vit/forward.ts"
import { createVit, disposeVit, type VitModel } from "../../../../plugins/models/vit/model.ts"
import { trainStudent } from "../../../../plugins/stages/paper/baselines.ts"
import type { DistilledStudentValue } from "../../../../plugins/stages/paper/distilledArtifact.ts"
import { exportStudent, timmArchitecture } from "../../../../plugins/stages/paper/export.ts"
import { teacherInput, teacherLoader } from "../../../../plugins/teachers/inputs.ts"
import { loadSplit } from "../../../../plugins/datasets/splits.ts"
import { modelFromWeights } from "../../../../plugins/teachers/artifact.ts"
import { runStage, selectTestBackend } from "../../teachers/stageHarness.ts"

const tmp = () => fs.mkdtemp(path.join(os.tmpdir(), "ssl-kd-export-"))

const TIMM_NAMES_2_BLOCKS = [
  "cls_token", "pos_embed", "patch_embed.proj.weight", "patch_embed.proj.bias",
  ...[0, 1].flatMap((i) => [
    "norm1.weight", "norm1.bias", "attn.qkv.weight", "attn.qkv.bias", "attn.proj.weight", "attn.proj.bias",
    "norm2.weight", "norm2.bias", "mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight", "mlp.fc2.bias",
  ].map((n) => `blocks.${i}.${n}`)),
  "norm.weight", "norm.bias", "head.weight", "head.bias",
]

let student: DistilledStudentValue
beforeAll(async () => {
  await selectTestBackend()
  student = await Effect.runPromise(
    runStage(trainStudent, { dataset: "synthetic-shapes", trainCount: 32, batchSize: 16, epochs: 1, lr: 0.003, seed: 5 }, {}, { scratchDir: await tmp() }),
  )
}, 60_000)

/** Writes the exported files to a fresh folder; returns it. */
const exported = async (config: Record<string, unknown> = {}) => {
  const files = await Effect.runPromise(runStage(exportStudent, config, { model: student }, { scratchDir: await tmp() }))
  const dir = await tmp()
  for (const [name, bytes] of files) await fs.writeFile(path.join(dir, name), bytes)
  return { dir, files }
}

/** Logits of `model` on the first 20 synthetic-shapes test images, as the student sees them. */
const logits = async (model: VitModel) => {
  const { set } = await Effect.runPromise(loadSplit("synthetic-shapes", "test", 20))
  const loader = await Effect.runPromise(teacherLoader("test", set, student.info, 20))
  return tf.tidy(() => Float32Array.from(forward(model, teacherInput(loader.batch(0, 0).images, student.info)).dataSync()))
}

/** A ViT built from config.json's model_args only, loaded from model.safetensors by the timm loader. */
const reload = async (dir: string) => {
  const cfg = JSON.parse(await fs.readFile(path.join(dir, "config.json"), "utf8")) as { model_args: Record<string, number>; num_classes: number }
  const a = cfg.model_args
  const model = createVit("reloaded", {
    imgSize: a.img_size!, patchSize: a.patch_size!, inChans: a.in_chans!, embedDim: a.embed_dim!, depth: a.depth!, numHeads: a.num_heads!, mlpRatio: a.mlp_ratio!, numClasses: cfg.num_classes,
  }, 99)
  const notes = await Effect.runPromise(loadVitCheckpoint(model, path.join(dir, "model.safetensors")))
  return { model, notes }
}

describe("paper/export-student", () => {
  it("writes timm-named weights that the timm loader reads back into a ViT with the student's exact logits", async () => {
    const before = tf.memory().numTensors
    const { dir, files } = await exported()
    expect(tf.memory().numTensors).toBe(before)
    expect([...files.keys()].sort()).toEqual(["README.md", "config.json", "model.safetensors"])
    const contents = await Effect.runPromise(readSafetensors(path.join(dir, "model.safetensors")))
    expect([...contents.tensors.keys()]).toEqual(TIMM_NAMES_2_BLOCKS)
    expect(contents.tensors.get("blocks.1.attn.qkv.weight")?.shape).toEqual([96, 32])
    expect(contents.tensors.get("head.weight")?.shape).toEqual([10, 32])
    expect(contents.tensors.get("patch_embed.proj.weight")).toMatchObject({ dtype: "F32", shape: [32, 1, 7, 7] })
    expect(contents.metadata).toMatchObject({ format: "pt" })
    const { model, notes } = await reload(dir)
    const original = await Effect.runPromise(modelFromWeights(student))
    const [got, want] = [await logits(model), await logits(original)]
    disposeVit(model)
    disposeVit(original)
    expect(notes).toEqual([])
    expect(got.length).toBe(200)
    expect(got.every((x, i) => Object.is(x, want[i]))).toBe(true)
  })

  it("writes a timm config.json: architecture, classes, model_args, input size, mean / std, label names", async () => {
    const { dir } = await exported()
    const cfg = JSON.parse(await fs.readFile(path.join(dir, "config.json"), "utf8")) as Record<string, unknown>
    expect(cfg).toMatchObject({
      architecture: "vit_tiny_patch16_224",
      num_classes: 10,
      num_features: 32,
      global_pool: "token",
      label_names: ["circle", "square", "triangle", "plus", "ring", "hbar", "vbar", "diamond", "x", "two-dots"],
      model_args: { img_size: 28, patch_size: 7, in_chans: 1, embed_dim: 32, depth: 2, num_heads: 4, mlp_ratio: 4, num_classes: 10 },
      pretrained_cfg: { input_size: [1, 28, 28], mean: [0.5], std: [0.25], num_classes: 10, first_conv: "patch_embed.proj", classifier: "head", interpolation: "bilinear", crop_pct: 1 },
      ssl_kd: { arch: "vitMicroPatch7_28", method: "student-alone", teachers: [], dataset: "synthetic-shapes", seed: 5 },
    })
    expect(timmArchitecture(vitTinyPatch16_224)).toBe("vit_tiny_patch16_224")
    expect(timmArchitecture(vitBasePatch16_224)).toBe("vit_base_patch16_224")
    expect(timmArchitecture(vitMicroPatch7_28)).toBe("vit_tiny_patch16_224")
  })

  it("F16 weights reload to the student's logits within half precision", async () => {
    const { dir } = await exported({ dtype: "F16" })
    const contents = await Effect.runPromise(readSafetensors(path.join(dir, "model.safetensors")))
    expect(contents.tensors.get("head.weight")?.dtype).toBe("F16")
    const { model } = await reload(dir)
    const original = await Effect.runPromise(modelFromWeights(student))
    const [got, want] = [await logits(model), await logits(original)]
    disposeVit(model)
    disposeVit(original)
    const worst = got.reduce((m, x, i) => Math.max(m, Math.abs(x - (want[i] ?? NaN))), 0)
    expect(worst).toBeGreaterThan(0)
    expect(worst).toBeLessThan(2e-2)
  })

  it("config.json's model_args are all keywords of timm's VisionTransformer", async () => {
    // timm 1.0 timm/models/vision_transformer.py, VisionTransformer.__init__ (the keywords create_model passes through).
    const vitKwargs = [
      "img_size", "patch_size", "in_chans", "num_classes", "global_pool", "embed_dim", "depth", "num_heads", "mlp_ratio", "qkv_bias",
      "qk_norm", "proj_bias", "init_values", "class_token", "pos_embed", "no_embed_class", "reg_tokens", "pre_norm", "final_norm",
      "fc_norm", "dynamic_img_size", "dynamic_img_pad", "drop_rate", "pos_drop_rate", "patch_drop_rate", "proj_drop_rate",
      "attn_drop_rate", "drop_path_rate", "weight_init", "fix_init", "embed_layer", "embed_norm_layer", "norm_layer", "act_layer",
      "block_fn", "mlp_layer",
    ]
    const { dir } = await exported()
    const cfg = JSON.parse(await fs.readFile(path.join(dir, "config.json"), "utf8")) as { model_args: Record<string, unknown> }
    expect(Object.keys(cfg.model_args).filter((k) => !vitKwargs.includes(k))).toEqual([])
  })

  it("writes a README.md model card: method, teachers, data, training record, how to load it", async () => {
    const { dir } = await exported()
    const card = await fs.readFile(path.join(dir, "README.md"), "utf8")
    expect(card).toContain("# vitMicroPatch7_28: an ssl-kd student (student-alone)")
    expect(card).toContain("the student trained alone on its cross-entropy, no teacher (Table 2 baseline)")
    expect(card).toContain("## Distilled from\n- none")
    expect(card).toContain("- dataset: `synthetic-shapes`, 32 training images, 10 classes: circle, square")
    expect(card).toContain("normalized with mean [0.5], std [0.25]")
    expect(card).toContain(`last-epoch total loss ${student.distillation.losses.epochs.at(-1)?.toPrecision(4)}`)
    expect(card).toContain('timm.create_model(cfg["architecture"], pretrained=False, **cfg["model_args"])')
  })

  const python = "/usr/bin/python3"
  const timmPath = process.env["SSL_KD_TIMM_PYTHONPATH"] ?? ""
  const hasTimm = existsSync(python) && (() => {
    try {
      execFileSync(python, ["-c", "import timm, torch, numpy"], { stdio: "ignore", env: { ...process.env, PYTHONPATH: timmPath } })
      return true
    } catch {
      return false
    }
  })()
  if (!hasTimm) console.warn("SKIP export.test.ts timm check: `import timm` fails (pip install --no-deps --target DIR timm; SSL_KD_TIMM_PYTHONPATH=DIR)")
  it.skipIf(!hasTimm)("timm.create_model(architecture, **model_args) builds it, loads model.safetensors strictly, and gives the student's logits", async () => {
    const { dir } = await exported()
    const { set } = await Effect.runPromise(loadSplit("synthetic-shapes", "test", 20))
    const loader = await Effect.runPromise(teacherLoader("test", set, student.info, 20))
    const images = tf.tidy(() => {
      const x = teacherInput(loader.batch(0, 0).images, student.info)
      return { shape: x.shape, data: Float32Array.from(x.dataSync()) }
    })
    const input = path.join(dir, "input.safetensors")
    await Effect.runPromise(writeSafetensors(input, [{ name: "images", shape: images.shape, data: images.data }]))
    const script = path.join(import.meta.dirname, "../../../fixtures/timm/create_model.py")
    const out = JSON.parse(execFileSync(python, [script, dir, input], { encoding: "utf8", env: { ...process.env, PYTHONPATH: timmPath } })) as { logits: Array<number> }
    const original = await Effect.runPromise(modelFromWeights(student))
    const want = await logits(original)
    disposeVit(original)
    expect(out.logits.length).toBe(200)
    const scale = want.reduce((m, x) => Math.max(m, Math.abs(x)), 0)
    expect(out.logits.reduce((m, x, i) => Math.max(m, Math.abs(x - (want[i] ?? NaN))), 0) / scale).toBeLessThan(1e-4)
  }, 60_000)

  it("refuses a student whose state lacks a parameter, naming it", async () => {
    const state = new Map(student.state)
    state.delete("blocks.1.mlp.fc2.bias")
    const exit = await Effect.runPromiseExit(runStage(exportStudent, {}, { model: { ...student, state } }, { scratchDir: await tmp() }))
    expect(Exit.isFailure(exit)).toBe(true)
    expect(String(Exit.isFailure(exit) ? exit.cause : "")).toContain("missing: blocks.1.mlp.fc2.bias")
  })
})
