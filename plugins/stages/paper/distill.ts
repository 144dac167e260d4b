/**
 * `paper/joint-distill`: the paper's one-stage joint optimization (sec. 3.4,
 * eq. 4). A student ViT learns from two adapted teachers, a contrastive (CL,
 * e.g. DINO) and a masked-image-modeling one (MIM, e.g. MAE), while the
 * teachers keep training their Partial-1 parameters on their own CE:
 *
 *   L = CE_S + CE_CL + CE_MIM + L_KD + L_Attn
 *
 * with L_KD the output KD of eq. 1 (l1 = 0.5, T = 1) and L_Attn the attention
 * KD of eq. 3 (l2 = 0) between heads 1, 2 of the student's distilled layer
 * and each teacher's head chosen by Attention Confidence (eq. 2, the
 * `HeadSelection` inputs, which also fix each teacher's layer). The loss is a
 * config field (`losses`, composed from the registry), so ablations change
 * terms and weights, not code. Every model sees the same augmented batch, in
 * its own normalization. Per step every loss component is reported in the
 * progress note; per epoch their means are checkpointed with the weights and
 * optimizer state (resumable) and end up in the `DistilledStudent` artifact.
 * The updated teachers are not part of the output.
 *
 * The loop itself (`runDistill`) takes 0, 1 or 2 teachers, each `partial-1`
 * or `frozen`, with or without an AC-selected attention map: the Table 2
 * baselines (`paper/train-student`, `paper/kd-single`, `baselines.ts`) run
 * through it with the same recipe fields (`recipeFields`), so the student's
 * initialisation, batches, augmentation, schedule and optimizer are the same
 * code for every row.
 */
import * as tf from "@tensorflow/tfjs-core"
import { Effect, Schema } from "effect"
import { Config, Stage, StageContext } from "../../../dsl/index.ts"
import { TensorBackend } from "../../../runtime/backend/TensorBackend.ts"
import { jointLossTerms } from "../../losses/joint.ts"
import { composeLosses, type LossTerm, LossTerms } from "../../losses/compose.ts"
import { losses } from "../../losses/builtins.ts"
import { cosineSchedule } from "../../objectives/schedules.ts"
import { createVit, disposeVit, type VitModel } from "../../models/vit/model.ts"
import type { FloatTensor } from "../../checkpoints/timmFilter.ts"
import { modelFromWeights, modelState } from "../../teachers/artifact.ts"
import { archFields, resolveArch } from "../../teachers/architecture.ts"
import { TeacherStageConfigError } from "../../teachers/errors.ts"
import { AdamW } from "../../training/adamw.ts"
import { runEpochs } from "../../training/epochs.ts"
import { adaptationParams } from "../../training/partial.ts"
import { runIdentity } from "../../training/resume.ts"
import { loadSplit, splitFiles } from "../teachers/data.ts"
import { type HeadSelectionValue, HeadSelection } from "./acSelect.ts"
import { trainLoader } from "./adaptStep.ts"
import { AdaptedTeacher, type AdaptedTeacherValue } from "./artifact.ts"
import { type DistillMethod, DistilledStudent, type DistilledStudentValue } from "./distilledArtifact.ts"
import { checkTeacher, fillSelectedHeads, studentInfo } from "./distillSetup.ts"
import { componentNames, type JointMember, jointStep } from "./distillStep.ts"

const NAME = "paper/joint-distill"
const Int = Config.IntAtLeast
const NonNeg = Config.NonNegative

/** Eq. 4 with l1 = 0.5, l2 = 0, T = 1; the teachers' heads for eq. 3 come from the `HeadSelection` inputs. */
export const defaultDistillLosses = fillSelectedHeads(jointLossTerms({ l1: 0.5, l2: 0, temperature: 1 }), undefined)

/** The training recipe (DeiT-style) shared by `paper/joint-distill` and the Table 2 baselines: same fields, same meaning. */
export const recipeFields = {
  dataset: Config.withDefault(Schema.String, "fashion-mnist"),
  /** First N training images (0: all). */
  trainCount: Config.withDefault(Int(0), 0),
  /** The student: a registered ViT with optional width / depth / heads overrides (0 keeps the variant's). */
  student: Config.withDefault(Schema.Struct({ ...archFields, arch: Config.withDefault(Schema.String, "vitMicroPatch7_28") }), {}),
  epochs: Config.withDefault(Int(1), 10),
  batchSize: Config.withDefault(Int(1), 64),
  /** Peak learning rate of every AdamW (cosine to 0 after `warmupEpochs` of linear warm-up). */
  lr: Config.withDefault(Schema.Finite.check(Schema.isGreaterThan(0)), 1e-3),
  warmupEpochs: Config.withDefault(Int(0), 0),
  weightDecay: Config.withDefault(NonNeg, 0.05),
  cropScaleMin: Config.withDefault(Schema.Finite.check(Schema.isGreaterThan(0), Schema.isLessThanOrEqualTo(1)), 0.08),
  flip: Config.withDefault(Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 })), 0.5),
  /** Seeds the student's initialisation, the batch order and the augmentation. */
  seed: Config.withDefault(Schema.Int, 0),
}
export const DistillRecipe = Schema.Struct(recipeFields)
export type DistillRecipe = typeof DistillRecipe.Type

/** Settings of {@link jointDistill}. */
export const DistillConfig = Schema.Struct({
  ...recipeFields,
  /** `partial-1`: the teachers train head, last block and final norm on their own CE (eq. 4); `frozen`: two-stage KD. */
  teacherMode: Config.withDefault(Schema.Literals(["partial-1", "frozen"]), "partial-1"),
  /** The composed loss (roles `student`, `cl`, `mim`); absent `clHead` / `mimHead` of `kd-attention` come from the AC selection. */
  losses: Config.withDefault(LossTerms, defaultDistillLosses),
  /** l1 of eq. 1, l2 of eq. 3 and the temperature T: written into the `kd-output` (lambda, temperature) and `kd-attention` (lambda) terms of `losses`. */
  lambda1: Config.withDefault(Config.UnitInterval, 0.5),
  lambda2: Config.withDefault(Config.UnitInterval, 0),
  temperature: Config.withDefault(Config.Positive, 1),
  /** The teacher heads eq. 3 distils: `ac`, each teacher's eq. 2 choice; `random`, a head drawn from `seed` (the ablation). Explicit `clHead` / `mimHead` in `losses` win. */
  headChoice: Config.withDefault(Schema.Literals(["ac", "random"]), "ac"),
  /** The student's distilled block (negative from the end; -1: the last). */
  distilledLayer: Config.withDefault(Schema.Int, -1),
})
export type DistillConfig = typeof DistillConfig.Type

export interface DistillInputs {
  readonly cl: AdaptedTeacherValue
  readonly mim: AdaptedTeacherValue
  readonly clHeads: HeadSelectionValue
  readonly mimHeads: HeadSelectionValue
}

/** One teacher of a distillation run. */
export interface DistillTeacher {
  /** Its role in the loss (`cl`, `mim`, `teacher`). */
  readonly role: string
  readonly weights: AdaptedTeacherValue
  /** `partial-1`: head, last block and final norm train on its own CE alongside the student (eq. 4); `frozen`: two-stage KD. */
  readonly mode: "partial-1" | "frozen"
  /** The AC selection (eq. 2) whose layer eq. 3 reads; absent: the teacher gives logits only. */
  readonly selection?: HeadSelectionValue
}

/** What {@link runDistill} trains: the recipe, the loss, the teachers (0, 1 or 2) and how the run is recorded. */
export interface DistillPlan {
  /** Stage name, for errors, logs and the resume identity. */
  readonly stage: string
  readonly method: DistillMethod
  /** The student's `origin.objective` (e.g. `joint distillation (eq. 4)`). */
  readonly objective: string
  readonly recipe: DistillRecipe
  /** The loss terms, final (AC-selected heads already filled in). */
  readonly losses: ReadonlyArray<LossTerm>
  /** The student's distilled block (negative from the end), or `undefined`: the student gives logits only. */
  readonly distilledLayer: number | undefined
  readonly teachers: ReadonlyArray<DistillTeacher>
}

/**
 * Trains a student by `plan`: the stage work of `paper/joint-distill` and of
 * the baselines. Also returns every teacher's final weights by role (not part
 * of the artifact; tests check Partial-1 with them).
 */
export const runDistill = (plan: DistillPlan) =>
  Effect.gen(function* () {
    yield* TensorBackend
    const ctx = yield* StageContext
    const started = performance.now()
    const c = plan.recipe
    const stage = plan.stage
    const bad = (field: string, value: unknown, expected: string) => new TeacherStageConfigError({ stage, field, value: JSON.stringify(value), expected })
    const { spec, set } = yield* loadSplit(c.dataset, "train", c.trainCount)
    const { arch, config: base } = yield* resolveArch(c.student.arch, c.student, set.channels)
    const sInfo = studentInfo(arch, { ...base, numClasses: set.classes.length }, spec.normalization, c.seed)
    const layer = plan.distilledLayer === undefined ? undefined : plan.distilledLayer < 0 ? base.depth + plan.distilledLayer : plan.distilledLayer
    if (layer !== undefined && (layer < 0 || layer >= base.depth)) {
      return yield* bad("distilledLayer", plan.distilledLayer, `a block index in ${-base.depth}..${base.depth - 1} (student ${arch} has ${base.depth} blocks)`)
    }
    if (set.count < c.batchSize) return yield* bad("batchSize", c.batchSize, `at most the ${set.count} training images`)
    if (c.warmupEpochs >= c.epochs) return yield* bad("warmupEpochs", c.warmupEpochs, `fewer than epochs (${c.epochs})`)
    for (const t of plan.teachers) {
      const failure = checkTeacher(stage, t.role, t.weights, t.selection, sInfo, set)
      if (failure !== undefined) return yield* failure
    }
    const loss = yield* composeLosses(losses, plan.losses)
    // The heads eq. 3 reads: the AC selection's, unless the config names others (an explicit value wins).
    const attention = plan.losses.find((t) => t.key === "kd-attention")?.params
    const headOf = (t: DistillTeacher): number | undefined => {
      const h = attention?.[`${t.role}Head`]
      return typeof h === "number" ? h : t.selection?.best
    }
    const loader = yield* trainLoader(stage, set, sInfo, c)
    const steps = loader.batchesPerEpoch
    const lr = cosineSchedule({ base: c.lr, final: 0, epochs: c.epochs, itersPerEpoch: steps, warmupEpochs: c.warmupEpochs }, "learning rate")
    return yield* Effect.scoped(
      Effect.gen(function* () {
        const own = <A extends { dispose(): void }>(make: () => A) => Effect.acquireRelease(Effect.sync(make), (a) => Effect.sync(() => a.dispose()))
        const model = <E>(make: Effect.Effect<VitModel, E>) => Effect.acquireRelease(make, (m) => Effect.sync(() => disposeVit(m)))
        const student = yield* model(Effect.sync(() => createVit(arch, sInfo.config, c.seed)))
        const member = (role: string, m: VitModel, info: typeof sInfo, l: number | undefined, params: ReadonlyMap<string, tf.Variable>) =>
          Effect.map(own(() => new AdamW(params)), (optimizer): JointMember => ({ role, model: m, info, layer: l, params, optimizer }))
        const members: Array<JointMember> = [yield* member("student", student, sInfo, layer, student.params)]
        for (const t of plan.teachers) {
          const m = yield* model(modelFromWeights(t.weights))
          const params = t.mode === "frozen" ? new Map<string, tf.Variable>() : adaptationParams(m, { kind: "partial", blocks: 1 }).params
          members.push(yield* member(t.role, m, t.weights.info, t.selection?.layer, params))
        }
        const names = yield* Effect.try({
          try: () => componentNames(members, loss, loader.batch(0, 0)),
          catch: (e) => bad("losses", plan.losses.map((t) => t.name ?? t.key), `terms the student and teachers can feed (${e instanceof Error ? e.message : String(e)})`),
        })
        const from = plan.teachers.length === 0
          ? "no teacher"
          : plan.teachers.map((t) => `${t.weights.info.teacher}${headOf(t) === undefined ? "" : ` (head ${headOf(t)})`} ${t.mode}`).join(" + ")
        yield* ctx.log(`${stage}: ${arch} from ${from}; logs ${names.join(", ")}`)
        const curves = yield* own(() => tf.tidy(() => tf.variable(tf.zeros([c.epochs, names.length]), false)))
        const vars = new Map<string, tf.Variable>([["distill.components", curves]])
        for (const m of members) {
          for (const [n, v] of m.params) vars.set(`${m.role}.${n}`, v)
          for (const [n, v] of m.optimizer.state()) vars.set(`${m.role}.${n}`, v)
        }
        const sums = new Float64Array(names.length)
        let last = ""
        const step = (epoch: number, index: number, globalStep: number): number => {
          const values = jointStep(members, loss, names, loader.batch(epoch, index), lr.at(globalStep), c.weightDecay)
          if (index === 0) sums.fill(0)
          values.forEach((v, i) => (sums[i] = (sums[i] ?? 0) + v))
          last = names.slice(1).map((n, i) => `${n} ${(values[i + 1] ?? NaN).toFixed(4)}`).join(" ")
          if (index === steps - 1) {
            const row = Float32Array.from(curves.dataSync())
            row.set(Array.from(sums, (s) => s / steps), epoch * names.length)
            tf.tidy(() => curves.assign(tf.tensor2d(row, [c.epochs, names.length])))
          }
          return values[0] ?? NaN
        }
        const noted = StageContext.of({ ...ctx, progress: (p) => ctx.progress({ ...p, note: `${p.note ?? ""} | ${last}` }) })
        const identity = {
          ...c,
          method: plan.method,
          losses: plan.losses,
          distilledLayer: plan.distilledLayer ?? null,
          teachers: plan.teachers.map((t) => [t.role, t.weights.info.teacher, t.mode, t.selection?.layer ?? null]),
          arch,
        }
        const result = yield* runEpochs({ stage, run: runIdentity(stage, identity), vars, epochs: c.epochs, stepsPerEpoch: steps, step }).pipe(
          Effect.provideService(StageContext, noted),
        )
        const table = curves.dataSync()
        const components = Object.fromEntries(names.map((n, i) => [n, Array.from({ length: c.epochs }, (_, e) => table[e * names.length + i] ?? NaN)]))
        const teacherRecords = plan.teachers.map((t, i) => {
          const head = headOf(t)
          return {
            role: t.role,
            teacher: t.weights.info.teacher,
            mode: t.mode,
            trainable: [...(members[i + 1]?.params.values() ?? [])].reduce((a, v) => a + v.size, 0),
            ...(t.selection === undefined ? {} : { layer: t.selection.layer }),
            ...(head === undefined ? {} : { head }),
          }
        })
        const seconds = (performance.now() - started) / 1000
        const value: DistilledStudentValue = {
          info: {
            ...sInfo,
            origin: { kind: "pretrained", objective: plan.objective, stage, dataset: spec.name, images: set.count, epochs: c.epochs, epochsRunHere: result.epochsRunHere, seconds },
            losses: { epochs: [...result.epochLosses], steps: [...result.stepLosses] },
          },
          state: modelState(student),
          distillation: {
            dataset: spec.name,
            classes: [...set.classes],
            images: set.count,
            epochs: c.epochs,
            epochsRunHere: result.epochsRunHere,
            batchSize: c.batchSize,
            lr: c.lr,
            weightDecay: c.weightDecay,
            seed: c.seed,
            method: plan.method,
            ...(layer === undefined ? {} : { studentLayer: layer }),
            teachers: teacherRecords,
            terms: loss.terms.map((t) => ({ ...t })),
            losses: { epochs: [...result.epochLosses], steps: [...result.stepLosses] },
            components,
            seconds,
          },
        }
        const teachers = new Map<string, ReadonlyMap<string, FloatTensor>>(members.slice(1).map((m) => [m.role, modelState(m.model)]))
        yield* ctx.log(`${stage}: final epoch ${names.map((n) => `${n} ${(components[n]?.at(-1) ?? NaN).toFixed(4)}`).join(", ")}`)
        return { student: value, teachers }
      }),
    )
  })

/** Writes l1, l2 and T into the `kd-output` and `kd-attention` terms (other terms unchanged). */
export const withLambdas = (
  terms: ReadonlyArray<LossTerm>,
  o: { readonly lambda1: number; readonly lambda2: number; readonly temperature: number },
): ReadonlyArray<LossTerm> =>
  terms.map((t) =>
    t.key === "kd-output"
      ? { ...t, params: { ...t.params, lambda: o.lambda1, temperature: o.temperature } }
      : t.key === "kd-attention"
        ? { ...t, params: { ...t.params, lambda: o.lambda2 } }
        : t,
  )

/** A head in [0, heads) drawn from `seed` and the teacher's index (splitmix32): the random-head ablation of eq. 3. */
export const randomHead = (seed: number, teacher: number, heads: number): number => {
  let z = (Math.imul(seed | 0, 0x9e3779b9) + Math.imul(teacher + 1, 0x85ebca6b)) | 0
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad)
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97)
  z ^= z >>> 15
  return (z >>> 0) % Math.max(1, heads)
}

/** The stage's work; also returns the teachers' final weights (not part of the artifact; tests check Partial-1 with them). */
export const runJointDistill = (c: DistillConfig, inputs: DistillInputs) =>
  Effect.gen(function* () {
    const { teacherMode, losses: terms, distilledLayer, lambda1, lambda2, temperature, headChoice, ...recipe } = c
    const teacher = (role: "cl" | "mim"): DistillTeacher => ({ role, weights: inputs[role], mode: teacherMode, selection: inputs[`${role}Heads`] })
    const head = (role: "cl" | "mim", index: number) => {
      const selection = inputs[`${role}Heads`]
      return headChoice === "ac" ? selection.best : randomHead(c.seed, index, selection.perHead.length)
    }
    const r = yield* runDistill({
      stage: NAME,
      method: "joint",
      objective: `joint distillation (eq. 4)${headChoice === "random" ? ", random teacher heads for eq. 3" : ""}`,
      recipe,
      losses: fillSelectedHeads(withLambdas(terms, { lambda1, lambda2, temperature }), { cl: head("cl", 0), mim: head("mim", 1) }),
      distilledLayer,
      teachers: [teacher("cl"), teacher("mim")],
    })
    const state = (role: "cl" | "mim") => r.teachers.get(role) ?? new Map<string, FloatTensor>()
    return { student: r.student, teachers: { cl: state("cl"), mim: state("mim") } }
  })

/** Eq. 4: joint distillation of a student from a CL and a MIM teacher, the teachers training Partial-1 alongside. */
export const jointDistill = Stage.make({
  name: NAME,
  description: "one-stage joint distillation (paper, sec. 3.4, eq. 4): student from CL + MIM teachers, output KD (eq. 1) + AC-selected attention KD (eq. 3), resumable per epoch",
  config: DistillConfig,
  inputs: { cl: AdaptedTeacher, mim: AdaptedTeacher, clHeads: HeadSelection, mimHeads: HeadSelection },
  output: DistilledStudent,
  reads: (c) => splitFiles(c.dataset, "train"),
  run: ({ config, inputs }) => Effect.map(runJointDistill(config, inputs), (r) => r.student),
})
