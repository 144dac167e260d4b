/**
 * `ssl-kd extract`: runs a ViT checkpoint on a tensor of images and writes
 * its outputs: `logits` (when the checkpoint has a head), `features` (the
 * final normed class token) and `attn.N` ([batch, heads, tokens, tokens])
 * for every block N, for inspection or comparison with timm.
 */
import * as tf from "@tensorflow/tfjs-core"
import { Data, Effect } from "effect"
import { readFile } from "node:fs/promises"
import { dirname, join } from "node:path"
import { entryToFloat32, getEntry, loadVitState, readSafetensors, readStateFile, timmCheckpointFilter, writeSafetensors } from "../checkpoints/index.ts"
import { checkImages, createVit, disposeVit, forwardHead, forwardIntermediates, models, validateConfig, type VitConfig, type VitModel } from "../models/index.ts"
import { describeBackend, selectBackend } from "../../runtime/backend/TensorBackend.ts"
import type { CliCommand, CliIO } from "../../runtime/cli/Command.ts"
import type { CommandHelp } from "../../runtime/cli/help.ts"

const usage = `ssl-kd extract --checkpoint F.safetensors|F.pth --arch NAME --input X.safetensors --out Y.safetensors
  [--batch N] [--backend node-gpu|node|native|wasm|cpu]

  Runs model NAME with the weights in F (timm names; or a PyTorch .pth in the
  official DINO / MAE layouts, read without executing it) on the tensor "images" of X
  (NCHW float32, already normalised) and writes to Y: logits (if the checkpoint
  has a head), features (final normed class token) and attn.N for every block N.
  --batch   images per forward pass (default 16)
  --backend tensor backend (default: SSL_KD_BACKEND, else the best available)`

export const help = {
  usage: "ssl-kd extract --checkpoint F.safetensors --arch NAME --input X.safetensors --out Y.safetensors [--batch N] [--backend B]",
  summary: "Run a ViT checkpoint on a tensor of images and write its logits (if it has a head), features (final normed class token) and attention maps attn.N of every block N, e.g. to compare with timm.",
  options: {
    checkpoint: { type: "string", value: "F.safetensors", text: "The weights, with timm parameter names (required).", example: "ssl-kd extract --checkpoint .ssl-kd/out/paper/export/student.safetensors --arch vitMicroPatch7_28 --input x.safetensors --out y.safetensors" },
    arch: { type: "string", value: "NAME", text: "The registered architecture of the checkpoint, e.g. vitTinyPatch16_224 (required).", example: "ssl-kd extract --arch vitTinyPatch16_224 --checkpoint vit.safetensors --input x.safetensors --out y.safetensors" },
    input: { type: "string", value: "X.safetensors", text: "A safetensors file holding the tensor \"images\" (NCHW float32, already normalised) (required).", example: "ssl-kd extract ... --input images.safetensors" },
    out: { type: "string", value: "Y.safetensors", text: "Where to write logits, features and attn.N (required).", example: "ssl-kd extract ... --out outputs.safetensors" },
    batch: { type: "string", value: "N", text: "Images per forward pass (default 16).", example: "ssl-kd extract ... --batch 64" },
    backend: { type: "string", value: "node-gpu|node|native|wasm|cpu", text: "Force a tensor backend (default: SSL_KD_BACKEND, else the best available).", example: "ssl-kd extract ... --backend native" },
  },
} as const satisfies CommandHelp

/** A required flag was not given. */
export class MissingFlag extends Data.TaggedError("MissingFlag")<{ readonly flag: string; readonly usage: string }> {
  override get message(): string {
    return `missing required flag ${this.flag}\nusage: ${this.usage}`
  }
}

/** A flag the command does not know. */
export class UnknownFlag extends Data.TaggedError("UnknownFlag")<{ readonly flag: string; readonly known: ReadonlyArray<string> }> {
  override get message(): string {
    return `unknown flag ${this.flag}; expected one of ${this.known.join(", ")}`
  }
}

/** A flag given without its value, or with an invalid one. */
export class BadFlagValue extends Data.TaggedError("BadFlagValue")<{
  readonly flag: string
  readonly value: string | undefined
  readonly expected: string
}> {
  override get message(): string {
    return this.value === undefined
      ? `flag ${this.flag} needs a value (${this.expected})`
      : `flag ${this.flag} = "${this.value}" is invalid; expected ${this.expected}`
  }
}

/** The `config.json` beside a checkpoint (timm hub format, as `paper/export` writes) has a field of the wrong kind. */
export class BadCheckpointConfig extends Data.TaggedError("BadCheckpointConfig")<{
  readonly file: string
  readonly field: string
  readonly value: string
  readonly expected: string
}> {
  override get message(): string {
    return `${this.file}: ${this.field} is ${this.value}, expected ${this.expected}`
  }
}

/** timm `model_args` names and the VitConfig fields they set. */
const MODEL_ARGS = [
  ["img_size", "imgSize", 1],
  ["patch_size", "patchSize", 1],
  ["in_chans", "inChans", 1],
  ["embed_dim", "embedDim", 1],
  ["depth", "depth", 1],
  ["num_heads", "numHeads", 1],
  ["mlp_ratio", "mlpRatio", 0],
  ["num_classes", "numClasses", 0],
] as const

/**
 * Architecture overrides from the `config.json` beside a checkpoint (the
 * folder `paper/export` writes: `model.safetensors` + `config.json`), so the
 * pipeline's own student loads with its in-channels, image size, width...;
 * none when there is no such file.
 */
export const checkpointConfigOverrides = (checkpoint: string): Effect.Effect<Partial<VitConfig>, BadCheckpointConfig> =>
  Effect.gen(function*() {
    const file = join(dirname(checkpoint), "config.json")
    const raw = yield* Effect.promise(() => readFile(file, "utf8").catch(() => undefined))
    if (raw === undefined) return {}
    let parsed: unknown
    try {
      parsed = JSON.parse(raw)
    } catch (e) {
      return yield* new BadCheckpointConfig({ file, field: "(file)", value: "not JSON", expected: `a JSON object (${String(e)})` })
    }
    const args = typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>)["model_args"] : undefined
    if (args === undefined) return {}
    if (typeof args !== "object" || args === null) return yield* new BadCheckpointConfig({ file, field: "model_args", value: JSON.stringify(args), expected: "an object" })
    const out: Record<string, number> = {}
    for (const [key, field, min] of MODEL_ARGS) {
      const v = (args as Record<string, unknown>)[key]
      if (v === undefined) continue
      const ok = typeof v === "number" && Number.isFinite(v) && v >= min && (field === "mlpRatio" ? v > 0 : Number.isInteger(v))
      if (!ok) {
        return yield* new BadCheckpointConfig({ file, field: `model_args.${key}`, value: JSON.stringify(v), expected: field === "mlpRatio" ? "a positive number" : `a whole number >= ${min}` })
      }
      out[field] = v
    }
    return out as Partial<VitConfig>
  })

interface ExtractArgs {
  readonly checkpoint: string
  readonly arch: string
  readonly input: string
  readonly out: string
  readonly batch: number
  readonly backend: string | undefined
}

const flags = ["--checkpoint", "--arch", "--input", "--out", "--batch", "--backend"] as const
type Flag = (typeof flags)[number]
const isFlag = (s: string): s is Flag => flags.some((f) => f === s)

/** Parses `--flag value` and `--flag=value` pairs. */
export const parseExtractArgs = (argv: ReadonlyArray<string>): Effect.Effect<ExtractArgs, MissingFlag | UnknownFlag | BadFlagValue> =>
  Effect.gen(function*() {
    const values = new Map<Flag, string>()
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i] ?? ""
      const eq = arg.indexOf("=")
      const name = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg
      if (!isFlag(name)) return yield* new UnknownFlag({ flag: name, known: flags })
      const value = eq > 0 && arg.startsWith("--") ? arg.slice(eq + 1) : argv[++i]
      if (value === undefined || value === "" || (eq < 0 && value.startsWith("--"))) {
        return yield* new BadFlagValue({ flag: name, value: undefined, expected: name === "--batch" ? "a positive integer" : "a value" })
      }
      values.set(name, value)
    }
    const need = (flag: Flag) => {
      const v = values.get(flag)
      return v === undefined ? Effect.fail(new MissingFlag({ flag, usage })) : Effect.succeed(v)
    }
    const batchText = values.get("--batch") ?? "16"
    const batch = Number(batchText)
    if (!Number.isInteger(batch) || batch <= 0) return yield* new BadFlagValue({ flag: "--batch", value: batchText, expected: "a positive integer" })
    return {
      checkpoint: yield* need("--checkpoint"),
      arch: yield* need("--arch"),
      input: yield* need("--input"),
      out: yield* need("--out"),
      batch,
      backend: values.get("--backend"),
    }
  })

interface Outputs {
  readonly logits?: Float32Array
  readonly features: Float32Array
  readonly attn: ReadonlyArray<Float32Array>
}

/** Runs the model over all images in batches, each inside `tf.tidy`. */
const runModel = (model: VitModel, images: Float32Array, shape: ReadonlyArray<number>, batch: number): Outputs => {
  const [n = 0, c = 0, h = 0, w = 0] = shape
  const { numClasses, embedDim, numHeads, depth, patchSize } = model.config
  const tokens = (h / patchSize) * (w / patchSize) + 1
  const per = c * h * w
  const logits = numClasses > 0 ? new Float32Array(n * numClasses) : undefined
  const features = new Float32Array(n * embedDim)
  const attnSize = numHeads * tokens * tokens
  const attn = Array.from({ length: depth }, () => new Float32Array(n * attnSize))
  for (let start = 0; start < n; start += batch) {
    const b = Math.min(batch, n - start)
    tf.tidy(() => {
      const x = tf.tensor(images.subarray(start * per, (start + b) * per), [b, c, h, w], "float32")
      const out = forwardIntermediates(model, x, { attention: true })
      features.set(forwardHead(model, out.features, { preLogits: true }).dataSync(), start * embedDim)
      if (logits !== undefined) logits.set(forwardHead(model, out.features).dataSync(), start * numClasses)
      for (const im of out.intermediates) {
        const target = attn[im.block]
        if (im.attn !== undefined && target !== undefined) target.set(im.attn.dataSync(), start * attnSize)
      }
    })
  }
  return logits === undefined ? { features, attn } : { logits, features, attn }
}

const extract = (argv: ReadonlyArray<string>, io: CliIO) =>
  Effect.gen(function*() {
    const args = yield* parseExtractArgs(argv)
    const backend = yield* selectBackend({ flag: args.backend, env: process.env["SSL_KD_BACKEND"] })
    io.err(describeBackend(backend))

    const read = yield* readStateFile(args.checkpoint)
    for (const note of read.notes) io.err(`checkpoint: ${note}`)
    const ckpt = read.state
    const head = ckpt.get("head.weight") ?? ckpt.get("module.head.weight")
    const overrides = yield* checkpointConfigOverrides(args.checkpoint)
    const resolved = yield* models.resolve(args.arch, { numClasses: head?.shape[0] ?? 0 })
    const config: VitConfig = { ...resolved, ...overrides, numClasses: head?.shape[0] ?? 0 }
    const invalid = validateConfig(args.arch, config)
    if (invalid !== undefined) return yield* invalid
    const { state, notes } = timmCheckpointFilter(ckpt, config)
    for (const note of notes) io.err(`checkpoint: ${note}`)

    const input = yield* readSafetensors(args.input)
    const entry = yield* getEntry(input, "images")
    const images = entryToFloat32(entry)

    const outputs = yield* Effect.acquireUseRelease(
      Effect.sync(() => createVit(args.arch, config)),
      (model) =>
        Effect.gen(function*() {
          yield* loadVitState(model, state, args.checkpoint)
          const bad = checkImages(model, entry.shape)
          if (bad !== undefined) return yield* bad
          return runModel(model, images, entry.shape, args.batch)
        }),
      (model) => Effect.sync(() => disposeVit(model)),
    )

    const n = entry.shape[0] ?? 0
    const [, , h = 0, w = 0] = entry.shape
    const tokens = (h / config.patchSize) * (w / config.patchSize) + 1
    const tensors = [
      ...(outputs.logits === undefined ? [] : [{ name: "logits", shape: [n, config.numClasses], data: outputs.logits }]),
      { name: "features", shape: [n, config.embedDim], data: outputs.features },
      ...outputs.attn.map((data, i) => ({ name: `attn.${i}`, shape: [n, config.numHeads, tokens, tokens], data })),
    ]
    yield* writeSafetensors(args.out, tensors, {
      "ssl-kd.command": "extract",
      "ssl-kd.arch": args.arch,
      "ssl-kd.checkpoint": args.checkpoint,
      "ssl-kd.backend": `${backend.name} ${backend.version}`,
    })
    io.out(`${args.out}: ${tensors.map((t) => `${t.name} [${t.shape.join(", ")}]`).join(", ")}`)
    return 0
  })

/** The `extract` sub-command (registered in `plugins/cli/index.ts`). */
export const command: CliCommand = {
  name: "extract",
  summary: "run a ViT checkpoint on images; write logits, features and every block's attention maps",
  usage,
  help,
  run: extract,
}
