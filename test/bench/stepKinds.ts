/**
 * The training steps the pipelines run, built from the pipelines' own step
 * code on random data, for test/bench/steps.bench.ts (one step kind per child
 * process). No model is re-implemented here: DINO runs `dinoStep`
 * (plugins/stages/teachers/dino/step.ts), MAE `maeStep`, the student-only and
 * joint-distillation steps `jointStep` (plugins/stages/paper/distillStep.ts,
 * with Partial-1 teachers from `adaptationParams` and the eq. 4 loss of
 * `jointLossTerms`), the ViT-B/16 teacher `forward`.
 *
 * Also the analytic matmul FLOPs of each step (2·m·n·k per product; the
 * backward of a trained product costs 2x its forward, of a product whose
 * input gradient alone is needed 1x), for the fraction-of-peak figures; the
 * PyTorch script prints its own count (torch.utils.flop_counter) to check it.
 */
import * as tf from "@tensorflow/tfjs-core"
import { Effect, Schema } from "effect"
import type { Batch, ImageBatch, PatchMask } from "../../plugins/datasets/loader.ts"
import { losses } from "../../plugins/losses/builtins.ts"
import { composeLosses } from "../../plugins/losses/compose.ts"
import { jointLossTerms } from "../../plugins/losses/joint.ts"
import { forward } from "../../plugins/models/vit/forward.ts"
import { createVit, disposeVit, type VitModel } from "../../plugins/models/vit/model.ts"
import type { VitConfig } from "../../plugins/models/vit/config.ts"
import type { Schedule } from "../../plugins/objectives/schedules.ts"
import { studentCe } from "../../plugins/stages/paper/baselines.ts"
import { studentInfo } from "../../plugins/stages/paper/distillSetup.ts"
import { componentNames, type JointMember, jointStep } from "../../plugins/stages/paper/distillStep.ts"
import { DinoPretrainConfig } from "../../plugins/teachers/dino/config.ts"
import { createDinoNetworks, disposeDinoNetworks } from "../../plugins/teachers/dino/networks.ts"
import { dinoStep } from "../../plugins/teachers/dino/step.ts"
import { MaePretrainConfig } from "../../plugins/teachers/mae/config.ts"
import { createMaeNetworks, disposeMaeNetworks } from "../../plugins/teachers/mae/networks.ts"
import { maeStep } from "../../plugins/teachers/mae/step.ts"
import { adaptationParams } from "../../plugins/training/partial.ts"
import { AdamW } from "../../plugins/training/adamw.ts"

export const stepKinds = ["dino", "mae", "student", "joint", "vitb-forward"] as const
export type StepKind = (typeof stepKinds)[number]

/**
 * The shapes of the bench, every one a command-line option. Defaults: the
 * `repro` preset (pipelines/scales.ts, pipelines/teachers.ts; steps.test.ts
 * checks they agree): teachers vitMiniPatch4_28, student vitNanoPatch4_28,
 * DINO's K = 4096 head with BatchNorm and 6 local crops, MAE's 128-wide
 * decoder, students at batch 64.
 */
export interface StepShapes {
  /** DINO and MAE pretraining batch. */
  readonly batch: number
  readonly img: number
  readonly patch: number
  readonly teacherWidth: number
  readonly teacherDepth: number
  readonly teacherHeads: number
  readonly studentWidth: number
  readonly studentDepth: number
  readonly studentHeads: number
  /** The student-only and joint-distillation batch. */
  readonly studentBatch: number
  readonly classes: number
  /** DINO multi-crop: local crops per image and their size (px, a multiple of the patch). */
  readonly localCrops: number
  readonly localSize: number
  /** DINO head: prototypes K, hidden and bottleneck widths, BatchNorm after the hidden layers (1) or not (0). */
  readonly dinoOutDim: number
  readonly dinoHiddenDim: number
  readonly dinoBottleneckDim: number
  readonly dinoHeadBn: number
  readonly maskRatio: number
  /** MAE decoder: width, blocks, heads. */
  readonly decoderDim: number
  readonly decoderDepth: number
  readonly decoderHeads: number
  /** ViT-B/16 forward batch (224 px). */
  readonly vitbBatch: number
}

export const defaultShapes: StepShapes = {
  batch: 128,
  img: 28,
  patch: 4,
  teacherWidth: 160,
  teacherDepth: 6,
  teacherHeads: 5,
  studentWidth: 60,
  studentDepth: 6,
  studentHeads: 3,
  studentBatch: 64,
  classes: 10,
  localCrops: 6,
  localSize: 12,
  dinoOutDim: 4096,
  dinoHiddenDim: 1024,
  dinoBottleneckDim: 256,
  dinoHeadBn: 1,
  maskRatio: 0.75,
  decoderDim: 128,
  decoderDepth: 2,
  decoderHeads: 4,
  vitbBatch: 8,
}

/** A built step: run it, images it consumes per call, its matmul FLOPs; dispose frees every tensor it made. */
export interface BuiltStep {
  readonly run: () => void
  readonly images: number
  readonly flops: number
  readonly dispose: () => void
}

const vit = (s: StepShapes, who: "teacher" | "student", classes = s.classes): VitConfig => ({
  imgSize: s.img,
  patchSize: s.patch,
  inChans: 3,
  embedDim: who === "teacher" ? s.teacherWidth : s.studentWidth,
  depth: who === "teacher" ? s.teacherDepth : s.studentDepth,
  numHeads: who === "teacher" ? s.teacherHeads : s.studentHeads,
  mlpRatio: 4,
  numClasses: classes,
})

/** Matmul FLOPs of one transformer block on `tokens` tokens per image (qkv, q·kᵀ, A·v, proj, fc1, fc2). */
export const blockFlops = (d: number, mlpRatio: number, tokens: number): number =>
  2 * tokens * (3 * d * d + d * d + 2 * d * d * mlpRatio) + 2 * 2 * tokens * tokens * d

/** Forward matmul FLOPs of a ViT per image at `img` px: patch embedding, blocks, head. */
export const vitFlops = (c: VitConfig, img = c.imgSize): number => {
  const patches = (img / c.patchSize) ** 2
  return 2 * patches * c.embedDim * c.patchSize ** 2 * c.inChans + c.depth * blockFlops(c.embedDim, c.mlpRatio, patches + 1) +
    2 * c.embedDim * c.numClasses
}

const random = (n: number, c: number, size: number, seed: number): ImageBatch => {
  const data = new Float32Array(n * c * size * size)
  let s = seed >>> 0
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    data[i] = s / 2 ** 32
  }
  return { data, shape: [n, c, size, size] }
}

const constant = (name: string, v: number): Schedule => ({ name, length: Number.MAX_SAFE_INTEGER, at: () => v })

const dino = (s: StepShapes): BuiltStep => {
  const c = Schema.decodeUnknownSync(DinoPretrainConfig)({
    localCrops: s.localCrops, localSize: s.localSize, outDim: s.dinoOutDim, headHiddenDim: s.dinoHiddenDim, headBottleneckDim: s.dinoBottleneckDim, headUseBn: s.dinoHeadBn !== 0,
  })
  const config = vit(s, "teacher", 0)
  const n = createDinoNetworks("bench-dino", config, c)
  const views = [random(s.batch, 3, s.img, 1), random(s.batch, 3, s.img, 2),
    ...Array.from({ length: s.localCrops }, (_, i) => random(s.batch, 3, s.localSize, 3 + i))]
  const sched = { lr: constant("lr", 5e-4), weightDecay: constant("wd", 0.04), momentum: constant("m", 0.996), teacherTemp: constant("t", 0.04) }
  // Epoch 1: the last layer trains (past freezeLastLayerEpochs), as in most of a run.
  const run = () => void dinoStep(n, c, views, 1, 0, sched)
  const mlp = 2 * (config.embedDim * c.headHiddenDim + c.headHiddenDim * c.headHiddenDim + c.headHiddenDim * c.headBottleneckDim) +
    2 * c.headBottleneckDim * c.outDim
  const global = vitFlops(config) + mlp
  const local = vitFlops(config, s.localSize) + mlp
  return { run, images: s.batch, flops: s.batch * (2 * global + 3 * (2 * global + s.localCrops * local)), dispose: () => disposeDinoNetworks(n) }
}

const mae = (s: StepShapes): BuiltStep => {
  const c = Schema.decodeUnknownSync(MaePretrainConfig)({ maskRatio: s.maskRatio, decoderDim: s.decoderDim, decoderDepth: s.decoderDepth, decoderHeads: s.decoderHeads })
  const config = vit(s, "teacher", 0)
  const n = createMaeNetworks("bench-mae", config, c)
  const l = (s.img / s.patch) ** 2
  const masked = Math.round(l * s.maskRatio)
  const mask = new Uint8Array(s.batch * l)
  const keep = new Int32Array(s.batch * (l - masked))
  for (let b = 0; b < s.batch; b++) {
    // A different masked set per image (a rotation of a fixed stride pattern), kept indices ascending.
    const hidden = new Set(Array.from({ length: masked }, (_, j) => (b + j * 4) % l))
    let k = 0
    for (let p = 0; p < l; p++) {
      if (hidden.has(p)) mask[b * l + p] = 1
      else keep[b * (l - masked) + k++] = p
    }
  }
  const patchMask: PatchMask = { mask, keep, patchSize: s.patch, numPatches: l, numMasked: masked }
  const batch: Batch = { epoch: 0, index: 0, images: random(s.batch, 3, s.img, 1), views: [], labels: new Int32Array(s.batch), indices: new Int32Array(s.batch), mask: patchMask }
  const d = config.embedDim
  const kept = l - masked + 1
  const enc = 2 * l * d * s.patch ** 2 * 3 + config.depth * blockFlops(d, 4, kept) + 2 * (l - masked) * l * d
  const dec = 2 * kept * d * c.decoderDim + c.decoderDepth * blockFlops(c.decoderDim, 4, l + 1) + 2 * l * c.decoderDim * s.patch ** 2 * 3
  const run = () => void maeStep(n, c, batch, 0, constant("lr", 1.5e-4))
  return { run, images: s.batch, flops: 3 * s.batch * (enc + dec), dispose: () => disposeMaeNetworks(n) }
}

const normalization = { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] }

/** `jointStep` over `members` with `terms`: the student alone (CE) or student + Partial-1 cl and mim teachers (eq. 4). */
const joint = (s: StepShapes, withTeachers: boolean): BuiltStep => {
  const models: Array<VitModel> = []
  const optimizers: Array<AdamW> = []
  const member = (role: string, config: VitConfig, layer: number | undefined, partial: boolean, seed: number): JointMember => {
    const model = createVit(`bench-${role}`, config, seed)
    models.push(model)
    const params = partial ? adaptationParams(model, { kind: "partial", blocks: 1 }).params : model.params
    const optimizer = new AdamW(params)
    optimizers.push(optimizer)
    return { role, model, info: studentInfo(`bench-${role}`, config, normalization, seed), layer, params, optimizer }
  }
  const sc = vit(s, "student")
  const tc = vit(s, "teacher")
  const members = [member("student", sc, withTeachers ? sc.depth - 1 : undefined, false, 0)]
  if (withTeachers) members.push(member("cl", tc, tc.depth - 1, true, 1), member("mim", tc, tc.depth - 1, true, 2))
  const terms = withTeachers ? jointLossTerms({ l1: 0.5, l2: 0, temperature: 1, clHead: 0, mimHead: 0 }) : [studentCe]
  const loss = Effect.runSync(composeLosses(losses, terms))
  const labels = Int32Array.from({ length: s.studentBatch }, (_, i) => i % s.classes)
  const batch = { images: random(s.studentBatch, 3, s.img, 1), labels }
  const names = componentNames(members, loss, batch)
  const run = () => void jointStep(members, loss, names, batch, 1e-4, 0.05)
  const tokens = (s.img / s.patch) ** 2 + 1
  // A Partial-1 teacher: full forward, backward through its last block, norm and head only.
  const teacher = vitFlops(tc) + 2 * (blockFlops(tc.embedDim, 4, tokens) + 2 * tc.embedDim * tc.numClasses)
  const flops = s.studentBatch * (3 * vitFlops(sc) + (withTeachers ? 2 * teacher : 0))
  return {
    run,
    images: s.studentBatch,
    flops,
    dispose: () => {
      models.forEach(disposeVit)
      optimizers.forEach((o) => o.dispose())
    },
  }
}

/** ViT-B/16 (width 768, 12 blocks, 12 heads) forward at 224 px, 1000 classes: an ImageNet-scale teacher's inference. */
const vitbForward = (s: StepShapes): BuiltStep => {
  const config: VitConfig = { imgSize: 224, patchSize: 16, inChans: 3, embedDim: 768, depth: 12, numHeads: 12, mlpRatio: 4, numClasses: 1000 }
  const model = createVit("bench-vitb16", config, 0)
  const images = tf.tensor4d(random(s.vitbBatch, 3, 224, 1).data, [s.vitbBatch, 3, 224, 224])
  const run = () => tf.tidy(() => void forward(model, images).dataSync())
  return { run, images: s.vitbBatch, flops: s.vitbBatch * vitFlops(config), dispose: () => (disposeVit(model), images.dispose()) }
}

export const buildStep = (kind: StepKind, s: StepShapes): BuiltStep =>
  kind === "dino" ? dino(s) : kind === "mae" ? mae(s) : kind === "student" ? joint(s, false) : kind === "joint" ? joint(s, true) : vitbForward(s)
