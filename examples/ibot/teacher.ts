/**
 * iBOT as a third SSL teacher, written only against the library's public
 * pieces, as a user would add a teacher (Zhou et al. 2022, "iBOT: Image BERT
 * Pre-Training with Online Tokenizer"; bytedance/ibot `main_ibot.py`).
 *
 * iBOT is self-distillation with a momentum teacher, like DINO, plus masked
 * image modeling: the student's global crops have blocks of patches replaced
 * by a learned [MASK] embedding, and the student predicts the teacher's
 * prototype distribution at each masked patch (`loss.ts`). One step:
 *
 *   t_cls, t_patch = g_t(global crops)                    teacher: unmasked, no gradient
 *   s_cls, s_patch = g_s(masked global crops), s_cls' = g_s(local crops)
 *   L = λ1 · DINO(t_cls, [s_cls, s_cls'])  +  λ2 · MIM(t_patch, s_patch, mask)
 *   student ← AdamW(clip(∇L)); centers (class, patch) and teacher by EMA
 *
 * What is iBOT's here: the joint loss with λ1 = λ2 = 1, blockwise masks with
 * the official prediction ratios (`masking.ts`), the [MASK] embedding
 * replacing the patch embedding before the position embedding is added,
 * separate centers and teacher temperatures for class and patch tokens,
 * multi-crop with masks on the global crops only. What differs, said
 * plainly: one projection head shared by class and patch tokens (iBOT's
 * `--shared_head true` recipe, not its default of separate heads; with
 * `headUseBn`, class and patch tokens get separate batch statistics), and the
 * scale's small K, head and epochs (inherited from the DINO settings a
 * pipeline passes). Every schedule (lr, weight decay, momentum, teacher
 * temperature) is DINO's, as iBOT's are.
 *
 * Registered as teacher `ibot` (family `other`: contrastive and masked image
 * modeling in one). Official iBOT checkpoints (`checkpoint_teacher.pth`, a
 * `state_dict` with `backbone.` or `module.backbone.` prefixes) load through
 * `teachers/load-checkpoint` with the rename below.
 */
import * as tf from "@tensorflow/tfjs-core"
import { Effect, Schema } from "effect"
import { Config, Stage, Teacher } from "../../dsl/index.ts"
import {
  AdamW,
  block,
  clipPerParameter,
  createDinoHead,
  createVit,
  DEFAULT_PRETRAIN_ARCH,
  type DinoHead,
  dinoHeadForward,
  dinoLoss,
  DinoPretrainConfig,
  dinoSchedules,
  type DinoSchedules,
  disposeDinoHead,
  disposeVit,
  embedTokens,
  emaUpdate,
  finalNorm,
  headConfig,
  type ImageBatch,
  imagesToTensor,
  loadSplit,
  makeLoader,
  multiCrop,
  param,
  poolClassToken,
  pretrainedTeacher,
  resolveArch,
  Rng,
  runEpochs,
  runIdentity,
  splitFiles,
  StageConfigError,
  teachers,
  TeacherWeights,
  TensorBackend,
  trainingConfig,
  updateCenter,
  type VitConfig,
  type VitModel,
} from "../../plugins/index.ts"
import { ibotPatchLoss, updatePatchCenter } from "./loss.ts"
import { batchMasks, type PredRatio } from "./masking.ts"

const NAME = "ibot/pretrain"
const Unit = Config.UnitInterval
const NonNeg = Config.NonNegative

/** DINO's settings (iBOT starts from DINO's code and defaults) plus iBOT's own, with `main_ibot.py`'s names in brackets. */
export const IbotPretrainConfig = Schema.Struct({
  ...DinoPretrainConfig.fields,
  teacher: Config.withDefault(Schema.String, "ibot"),
  /** Weights of the class-token (DINO) and masked-patch terms [lambda1 1, lambda2 1]. */
  lambda1: Config.withDefault(NonNeg, 1),
  lambda2: Config.withDefault(NonNeg, 1),
  /** Patch teacher temperature, warmed up like the class one [warmup_teacher_patch_temp 0.04, teacher_patch_temp 0.07]. */
  warmupTeacherPatchTemp: Config.withDefault(Config.Positive, 0.04),
  teacherPatchTemp: Config.withDefault(Config.Positive, 0.07),
  /** Patch center EMA momentum [center_momentum2 0.9]. */
  patchCenterMomentum: Config.withDefault(Unit, 0.9),
  /** Prediction ratios, one drawn per image [pred_ratio 0 0.3, pred_ratio_var 0 0.2]: half unmasked, half 0.1-0.5. */
  predRatio: Config.withDefault(Schema.Array(Unit), [0, 0.3]),
  predRatioVar: Config.withDefault(Schema.Array(Unit), [0, 0.2]),
})
export type IbotPretrainConfig = typeof IbotPretrainConfig.Type

export interface IbotNetworks {
  readonly student: VitModel
  readonly studentHead: DinoHead
  readonly teacher: VitModel
  readonly teacherHead: DinoHead
  /** iBOT's `masked_embed` [1, D] (zeros at init). */
  readonly maskToken: tf.Variable
  readonly center: tf.Variable
  readonly patchCenter: tf.Variable
  readonly studentParams: ReadonlyMap<string, tf.Variable>
  readonly teacherParams: ReadonlyMap<string, tf.Variable>
  readonly trainable: ReadonlyMap<string, tf.Variable>
  readonly optimizer: AdamW
}

const wrapped = (model: VitModel, head: DinoHead): Map<string, tf.Variable> =>
  new Map([...[...model.params].map(([k, v]) => [`backbone.${k}`, v] as const), ...[...head.params].map(([k, v]) => [`head.${k}`, v] as const)])

/** Student, teacher (= student at init), [MASK] embedding, both centers, AdamW. Dispose with {@link disposeIbotNetworks}. */
export const createIbotNetworks = (arch: string, vit: VitConfig, c: IbotPretrainConfig): IbotNetworks => {
  const student = createVit(arch, vit, c.seed, "dino")
  const studentHead = createDinoHead(headConfig(vit, c), c.seed)
  const teacher = createVit(arch, vit, c.seed, "dino")
  const teacherHead = createDinoHead(headConfig(vit, c), c.seed)
  const maskToken = tf.tidy(() => tf.variable(tf.zeros([1, vit.embedDim]), true))
  const teacherParams = wrapped(teacher, teacherHead)
  const studentParams = new Map([...wrapped(student, studentHead), ["backbone.masked_embed", maskToken] as const])
  for (const [k, t] of teacherParams) {
    const s = studentParams.get(k)
    if (s !== undefined) t.assign(s)
  }
  const trainable = new Map([...studentParams].filter(([, v]) => v.trainable))
  return {
    student, studentHead, teacher, teacherHead, maskToken,
    center: tf.tidy(() => tf.variable(tf.zeros([1, c.outDim]), false)),
    patchCenter: tf.tidy(() => tf.variable(tf.zeros([1, c.outDim]), false)),
    studentParams, teacherParams, trainable,
    optimizer: new AdamW(trainable),
  }
}

const stateVars = (n: IbotNetworks): ReadonlyMap<string, tf.Variable> =>
  new Map([
    ...[...n.studentParams].map(([k, v]) => [`student.${k}`, v] as const),
    ...[...n.teacherParams].map(([k, v]) => [`teacher.${k}`, v] as const),
    ["center", n.center] as const,
    ["patch_center", n.patchCenter] as const,
    ...n.optimizer.state(),
  ])

export const disposeIbotNetworks = (n: IbotNetworks): void => {
  disposeVit(n.student)
  disposeVit(n.teacher)
  disposeDinoHead(n.studentHead)
  disposeDinoHead(n.teacherHead)
  n.maskToken.dispose()
  n.center.dispose()
  n.patchCenter.dispose()
  n.optimizer.dispose()
}

/**
 * The backbone's final tokens [B, 1 + N, D] with masked patches (`mask` [B, N],
 * 1: masked) replaced by the [MASK] embedding before the position embedding
 * is added, as iBOT's `prepare_tokens` does: token = maskToken + pos.
 */
export const maskedFeatures = (model: VitModel, maskToken: tf.Tensor, images: tf.Tensor, mask: tf.Tensor | undefined): tf.Tensor => {
  let x = embedTokens(model, images)
  if (mask !== undefined) {
    const [b = 0, t = 0, d = 0] = x.shape
    const pos = param(model, "pos_embed")
    if (pos.shape[1] !== t) throw new TypeError(`ibot: masked crops must have the model's grid (${(pos.shape[1] ?? 1) - 1} patches); got ${t - 1}`)
    const m = tf.reshape(tf.cast(mask, "float32"), [b, t - 1, 1])
    const patchPos = tf.slice(pos, [0, 1, 0], [1, t - 1, d])
    const replaced = tf.add(tf.mul(tf.slice(x, [0, 1, 0], [b, t - 1, d]), tf.sub(1, m)), tf.mul(tf.add(tf.reshape(maskToken, [1, 1, d]), patchPos), m))
    x = tf.concat([tf.slice(x, [0, 0, 0], [b, 1, d]), replaced], 1)
  }
  for (let i = 0; i < model.config.depth; i++) x = block(model, i, x).x
  return finalNorm(model, x)
}

/** The patch tokens of [B, 1 + N, D] as rows [B * N, D]. */
const patchRows = (tokens: tf.Tensor): tf.Tensor => {
  const [b = 0, t = 0, d = 0] = tokens.shape
  return tf.reshape(tf.slice(tokens, [0, 1, 0], [b, t - 1, d]), [b * (t - 1), d])
}

export interface IbotSchedules extends DinoSchedules {
  readonly patchTemp: DinoSchedules["teacherTemp"]
}

/** One iBOT step on a batch's views (0-1 global, 2.. local) with the global crops' masks [2 * B * N]; returns the loss. */
export const ibotStep = (n: IbotNetworks, c: IbotPretrainConfig, views: ReadonlyArray<ImageBatch>, masks: Uint8Array, epoch: number, globalStep: number, s: IbotSchedules): number =>
  tf.tidy(() => {
    const tensors = views.map((v) => imagesToTensor(v))
    const globals = tf.concat(tensors.slice(0, 2), 0)
    const b = views[0]?.shape[0] ?? 0
    const numPatches = masks.length / (2 * b)
    const mask = tf.tensor2d(masks, [2 * b, numPatches], "int32")
    // Class tokens of every crop go through the head in one call, as DINO's MultiCropWrapper does (so a
    // BatchNorm head sees the same rows as in DINO); patch tokens in a second call, only when L_MIM counts.
    const teacherTokens = maskedFeatures(n.teacher, n.maskToken, globals, undefined)
    const teacherCls = dinoHeadForward(n.teacherHead, poolClassToken(teacherTokens))
    const k = teacherCls.shape[1] ?? 0
    const teacherPatch = c.lambda2 > 0 ? tf.reshape(dinoHeadForward(n.teacherHead, patchRows(teacherTokens)), [2, b, numPatches, k]) : undefined
    const names = new Map([...n.trainable].map(([name, v]) => [v.name, name]))
    const { value, grads } = tf.variableGrads(() => {
      const studentTokens = maskedFeatures(n.student, n.maskToken, globals, mask)
      const locals = tensors.length > 2 ? tf.concat(tensors.slice(2), 0) : undefined
      const clsRows = locals === undefined
        ? poolClassToken(studentTokens)
        : tf.concat([poolClassToken(studentTokens), poolClassToken(maskedFeatures(n.student, n.maskToken, locals, undefined))], 0)
      const studentCls = dinoHeadForward(n.studentHead, clsRows)
      const cls = tf.mul(dinoLoss(studentCls, teacherCls, n.center, { studentViews: views.length, teacherTemp: s.teacherTemp.at(epoch), studentTemp: c.studentTemp }), c.lambda1)
      if (teacherPatch === undefined) return cls as tf.Scalar
      const studentPatch = tf.reshape(dinoHeadForward(n.studentHead, patchRows(studentTokens)), [2, b, numPatches, k])
      const patch = ibotPatchLoss(studentPatch, teacherPatch, tf.reshape(mask, [2, b, numPatches]), n.patchCenter, { teacherTemp: s.patchTemp.at(epoch), studentTemp: c.studentTemp })
      return tf.add(cls, tf.mul(patch, c.lambda2)) as tf.Scalar
    }, [...n.trainable.values()])
    const frozen = epoch < c.freezeLastLayerEpochs
    const byName = new Map(
      Object.entries(grads).flatMap(([varName, gr]) => {
        const name = names.get(varName)
        return name === undefined || (frozen && name.startsWith("head.last_layer.")) ? [] : [[name, gr] as const]
      }),
    )
    n.optimizer.step(clipPerParameter(byName, c.clipGrad), s.lr.at(globalStep), s.weightDecay.at(globalStep))
    n.center.assign(updateCenter(n.center, teacherCls, c.centerMomentum))
    if (teacherPatch !== undefined) n.patchCenter.assign(updatePatchCenter(n.patchCenter, teacherPatch, c.patchCenterMomentum))
    // The teacher has no [MASK] embedding: EMA over the names both sides have.
    emaUpdate(n.teacherParams, new Map([...n.studentParams].filter(([name]) => n.teacherParams.has(name))), s.momentum.at(globalStep))
    return value.dataSync()[0] ?? Number.NaN
  })

export const pretrainIbot = Stage.make({
  name: NAME,
  description: "iBOT pretraining (self-distillation + masked image modeling with an online tokenizer) of a ViT teacher, resumable per epoch",
  config: IbotPretrainConfig,
  inputs: {},
  output: TeacherWeights,
  reads: (c) => splitFiles(c.dataset, "train"),
  run: ({ config: c }) =>
    Effect.gen(function* () {
      yield* TensorBackend
      const started = performance.now()
      const { spec, set } = yield* loadSplit(c.dataset, "train", c.trainCount)
      const { arch, config: target } = yield* resolveArch(DEFAULT_PRETRAIN_ARCH, c, set.channels)
      const vit = trainingConfig(target)
      const bad = (field: string, value: unknown, expected: string) => new StageConfigError({ stage: NAME, field, value: JSON.stringify(value), expected })
      if (c.localSize % vit.patchSize !== 0) return yield* bad("localSize", c.localSize, `a multiple of the patch size ${vit.patchSize}`)
      if (set.count < c.batchSize) return yield* bad("batchSize", c.batchSize, `at most the ${set.count} training images`)
      if (c.warmupEpochs >= c.epochs) return yield* bad("warmupEpochs", c.warmupEpochs, `fewer than epochs (${c.epochs})`)
      if (c.predRatio.length === 0 || c.predRatio.length !== c.predRatioVar.length) {
        return yield* bad("predRatioVar", c.predRatioVar, `one variance per prediction ratio (${c.predRatio.length})`)
      }
      const ratios: ReadonlyArray<PredRatio> = c.predRatio.map((ratio, i) => ({ ratio, variance: c.predRatioVar[i] ?? 0 }))
      const out = ratios.find((r) => r.ratio - r.variance < 0 || r.ratio + r.variance > 1)
      if (out !== undefined) return yield* bad("predRatio", c.predRatio, "ratio ± variance within [0, 1]")
      const loader = yield* makeLoader(set, {
        batchSize: c.batchSize,
        normalization: spec.normalization,
        seed: c.seed,
        dropLast: true,
        augmentation: multiCrop({
          globalSize: vit.imgSize,
          globalScale: [c.globalScaleMin, 1],
          localSize: c.localSize,
          localScale: [c.localScaleMin, c.localScaleMax],
          localCrops: c.localCrops,
          jitter: c.colorJitter,
          solarize: c.solarize,
        }),
      })
      const grid = vit.imgSize / vit.patchSize
      const base = dinoSchedules(c, loader.batchesPerEpoch)
      const patchTemp = dinoSchedules({ ...c, warmupTeacherTemp: c.warmupTeacherPatchTemp, teacherTemp: c.teacherPatchTemp }, loader.batchesPerEpoch).teacherTemp
      const schedules: IbotSchedules = { ...base, patchTemp }
      return yield* Effect.acquireUseRelease(
        Effect.sync(() => createIbotNetworks(arch, vit, c)),
        (n) =>
          Effect.gen(function* () {
            const result = yield* runEpochs({
              stage: NAME,
              run: runIdentity(NAME, c),
              vars: stateVars(n),
              epochs: c.epochs,
              stepsPerEpoch: loader.batchesPerEpoch,
              step: (epoch, index, globalStep) => {
                const batch = loader.batch(epoch, index)
                // Masks from their own stream (seed, epoch, step): a resumed run draws the same ones.
                const masks = batchMasks(Rng.derive(c.seed, 0x1b07, epoch, index), 2 * batch.labels.length, grid, grid, ratios)
                return ibotStep(n, c, batch.views, masks, epoch, globalStep, schedules)
              },
            })
            return pretrainedTeacher({ stage: NAME, objective: "ibot", teacher: c.teacher, family: "other", arch, config: target, spec, set, epochs: c.epochs, result, model: n.teacher, started })
          }),
        (n) => Effect.sync(() => disposeIbotNetworks(n)),
      )
    }),
})

/** Official iBOT checkpoints name the backbone `backbone.<timm name>` (possibly under `module.`); the [MASK] embedding and heads are not part of the teacher. */
const renameKey = (k: string): string | undefined => {
  const bare = k.replace(/^module\./, "").replace(/^backbone\./, "")
  const projectionHead = bare.startsWith("head.") && bare !== "head.weight" && bare !== "head.bias"
  return bare === "masked_embed" || projectionHead ? undefined : bare
}

export const ibotTeacher = Teacher.defineTeacher({
  name: "ibot",
  family: "other",
  description: "iBOT: self-distillation with masked image modeling (contrastive + MIM in one; Zhou et al. 2022)",
  architecture: "vitBasePatch16_224",
  weights: { naming: "timm", reference: "bytedance/ibot checkpoint_teacher.pth (ViT-B/16, `state_dict`)", renameKey },
  pretrain: pretrainIbot,
  // As the built-in teachers: ImageNet statistics for official checkpoints; pretrained here, the dataset's (the stage records them).
  normalization: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
})

// Registration is idempotent per process: a pool worker and the main thread each import this file once.
if (!teachers.names().includes(ibotTeacher.name)) Effect.runSync(teachers.register(ibotTeacher.name, ibotTeacher))
