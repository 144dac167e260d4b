/**
 * The distillation loop of the paper's Table 2 (sec. 3.2-3.4): a student ViT
 * trained on its CE plus whatever KD terms the plan's loss holds, from 0..N
 * teachers, each either frozen (two-stage KD) or training its Partial-1
 * parameters (head, last block, final norm) on its own CE alongside the
 * student (eq. 4: L = CE_S + sum_i CE_i + L_KD + L_Attn). A teacher enters
 * adapted (an `AdaptedTeacher`, its head used as is) or SSL-pretrained with a
 * fresh head for the task, seeded by its own `freshHead.seed`, never from the
 * student's seed (true one-stage, sec. 3.4).
 *
 * `runDistill` is the work of `paper/joint-distill` (`joint.ts`),
 * `paper/train-student` and `paper/kd-single` (`baselines.ts`): they share
 * the recipe fields (`recipeFields`), so the student's initialisation,
 * batches, augmentation, schedule and optimizer are the same code for every
 * row. Every model sees the same augmented batch, in its own normalization.
 * Per step every loss component is reported in the progress note; per epoch
 * their means are checkpointed with the weights and optimizer state
 * (resumable) and end up in the `DistilledStudent` artifact. A split whose
 * reader streams (the `imagenet` entry) is streamed (`openSplit`,
 * `datasets/source.ts`): batches in order, memory bounded by the prefetch.
 */
import * as tf from "@tensorflow/tfjs-core"
import { Effect, Schema } from "effect"
import { Config, StageContext } from "../../../dsl/index.ts"
import { TensorBackend } from "../../../runtime/backend/TensorBackend.ts"
import { composeLosses, type LossTerm } from "../../losses/compose.ts"
import { Losses } from "../../losses/builtins.ts"
import { cosineSchedule } from "../../objectives/schedules.ts"
import { createVit, disposeVit, type VitModel } from "../../models/vit/model.ts"
import type { FloatTensor } from "../../checkpoints/timmFilter.ts"
import { modelFromWeights, modelState, type TeacherInfo, type TeacherWeightsValue } from "../../teachers/artifact.ts"
import { archFields, resolveArch } from "../../teachers/architecture.ts"
import { StageConfigError } from "../../training/errors.ts"
import { AdamW } from "../../training/adamw.ts"
import { runEpochs } from "../../training/epochs.ts"
import { adaptationCount, adaptationParams } from "../../training/partial.ts"
import { runIdentity } from "../../training/resume.ts"
import { teacherSource } from "../../teachers/inputs.ts"
import type { Batch } from "../../datasets/loader.ts"
import { openSplit } from "../../datasets/source.ts"
import type { HeadSelectionValue } from "./acSelect.ts"
import { adaptedModel } from "./adapt.ts"
import { top1, trainSource } from "./adaptStep.ts"
import type { AdaptedTeacherValue } from "./artifact.ts"
import type { DistillMethod, DistilledStudentValue } from "./distilledArtifact.ts"
import { checkTeacher, stateDigest, studentInfo } from "./distillSetup.ts"
import { componentNames, type JointMember, jointStep } from "./distillStep.ts"

const Int = Config.IntAtLeast
const NonNeg = Config.NonNegative

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

/** One teacher of a distillation run. */
export interface DistillTeacher {
  /** Its role in the loss (`cl`, `mim`, `teacher`). */
  readonly role: string
  /** An adapted teacher (its head is used), or, with `freshHead`, an SSL-pretrained one. */
  readonly weights: AdaptedTeacherValue | TeacherWeightsValue
  /** `partial-1`: head, last block and final norm train on its own CE alongside the student (eq. 4); `frozen`: two-stage KD. */
  readonly mode: "partial-1" | "frozen"
  /** The AC selection (eq. 2) whose layer eq. 3 reads; absent: the teacher gives logits only. */
  readonly selection?: HeadSelectionValue
  /** The head eq. 3 distils from this teacher, when not the selection's `best` (an ablation). */
  readonly head?: number
  /**
   * Set: the teacher enters as an SSL-pretrained backbone and gets a fresh
   * head for the task's classes, initialised from `seed` (independent of the
   * student's seed stream); it must train (`partial-1`). Absent: `weights`
   * is an `AdaptedTeacher` and keeps its head.
   */
  readonly freshHead?: { readonly seed: number }
}

/** What {@link runDistill} trains: the recipe, the loss, the teachers (0..N) and how the run is recorded. */
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
  /** Also score every trained teacher on the training images and return it as an `AdaptedTeacher` value (`trained`). */
  readonly recordTeachers?: boolean
}

/** A teacher's state after the run, as an adapted teacher (mode `joint partial-1`), by role. */
export interface TrainedTeacher {
  readonly role: string
  readonly value: AdaptedTeacherValue
}

/** The mode a teacher trained inside a joint run is recorded under (Table 1 keeps it apart from two-stage Partial-1). */
export const JOINT_MODE = "joint partial-1"

/**
 * Trains a student by `plan`: the stage work of `paper/joint-distill` and of
 * the baselines. Also returns every teacher's final weights by role, and with
 * `recordTeachers` each trained teacher as an `AdaptedTeacher` value.
 */
export const runDistill = (plan: DistillPlan) =>
  Effect.gen(function* () {
    yield* TensorBackend
    const ctx = yield* StageContext
    const started = performance.now()
    const c = plan.recipe
    const stage = plan.stage
    const bad = (field: string, value: unknown, expected: string) => new StageConfigError({ stage, field, value: JSON.stringify(value), expected })
    const data = yield* openSplit(c.dataset, "train", c.trainCount)
    const { spec, meta: set } = data
    const { arch, config: base } = yield* resolveArch(c.student.arch, c.student, set.channels)
    const sInfo = studentInfo(arch, { ...base, numClasses: set.classes.length }, spec.normalization, c.seed)
    const layer = plan.distilledLayer === undefined ? undefined : plan.distilledLayer < 0 ? base.depth + plan.distilledLayer : plan.distilledLayer
    if (layer !== undefined && (layer < 0 || layer >= base.depth)) {
      return yield* bad("distilledLayer", plan.distilledLayer, `a block index in ${-base.depth}..${base.depth - 1} (student ${arch} has ${base.depth} blocks)`)
    }
    if (set.count < c.batchSize) return yield* bad("batchSize", c.batchSize, `at most the ${set.count} training images`)
    if (c.warmupEpochs >= c.epochs) return yield* bad("warmupEpochs", c.warmupEpochs, `fewer than epochs (${c.epochs})`)
    const roles = new Set<string>(["student"])
    for (const t of plan.teachers) {
      if (roles.has(t.role)) return yield* bad("teachers", t.role, "a role no other model of the run has (roles name the loss inputs)")
      roles.add(t.role)
      if (t.freshHead !== undefined && t.mode !== "partial-1") {
        return yield* bad(`${t.role}.mode`, t.mode, `partial-1: teacher ${t.weights.info.teacher} enters SSL-pretrained with a fresh head, which must train`)
      }
      if (t.freshHead === undefined && !("adaptation" in t.weights)) {
        return yield* bad(t.role, t.weights.info.teacher, "an adapted teacher (with a head for the task), or a fresh head (one-stage)")
      }
      const failure = checkTeacher(stage, t.role, t.weights, t.selection, sInfo, set)
      if (failure !== undefined) return yield* failure
      if (t.head !== undefined && !(t.head >= 0 && t.head < t.weights.info.config.numHeads)) {
        return yield* bad(`${t.role}.head`, t.head, `a head of ${t.weights.info.teacher} (0..${t.weights.info.config.numHeads - 1})`)
      }
    }
    const loss = yield* composeLosses(yield* Losses, plan.losses)
    const headOf = (t: DistillTeacher): number | undefined => t.head ?? t.selection?.best
    const taskInfo = (t: DistillTeacher): TeacherInfo =>
      t.freshHead === undefined ? t.weights.info : { ...t.weights.info, config: { ...t.weights.info.config, numClasses: set.classes.length } }
    const batches = yield* trainSource(stage, data, sInfo, c)
    const steps = batches.batchesPerEpoch
    const lr = cosineSchedule({ base: c.lr, final: 0, epochs: c.epochs, itersPerEpoch: steps, warmupEpochs: c.warmupEpochs }, "learning rate")
    return yield* Effect.scoped(
      Effect.gen(function* () {
        const own = <A extends { dispose(): void }>(make: () => A) => Effect.acquireRelease(Effect.sync(make), (a) => Effect.sync(() => a.dispose()))
        const model = <E>(make: Effect.Effect<VitModel, E>) => Effect.acquireRelease(make, (m) => Effect.sync(() => disposeVit(m)))
        const student = yield* model(Effect.sync(() => createVit(arch, sInfo.config, c.seed)))
        const member = (role: string, m: VitModel, info: typeof sInfo, l: number | undefined, params: ReadonlyMap<string, tf.Variable>) =>
          Effect.map(own(() => new AdamW(params)), (optimizer): JointMember => ({ role, model: m, info, layer: l, params, optimizer }))
        const members: Array<JointMember> = [yield* member("student", student, sInfo, layer, student.params)]
        const startDigests: Array<string> = []
        for (const t of plan.teachers) {
          const info = taskInfo(t)
          const m = yield* model(t.freshHead === undefined ? modelFromWeights(t.weights) : adaptedModel(t.weights, info, t.freshHead.seed))
          const params = t.mode === "frozen" ? new Map<string, tf.Variable>() : adaptationParams(m, { kind: "partial", blocks: 1 }).params
          members.push(yield* member(t.role, m, info, t.selection?.layer, params))
          startDigests.push(stateDigest(modelState(m)))
        }
        const first = yield* batches.batch(0, 0)
        const names = yield* Effect.try({
          try: () => componentNames(members, loss, first),
          catch: (e) => bad("losses", plan.losses.map((t) => t.name ?? t.key), `terms the student and teachers can feed (${e instanceof Error ? e.message : String(e)})`),
        })
        const from = plan.teachers.length === 0
          ? "no teacher"
          : plan.teachers.map((t) => `${t.weights.info.teacher}${t.freshHead === undefined ? "" : " (pretrained, fresh head)"}${headOf(t) === undefined ? "" : ` (head ${headOf(t)})`} ${t.mode}`).join(" + ")
        yield* ctx.log(`${stage}: ${arch} from ${from}; logs ${names.join(", ")}`)
        const curves = yield* own(() => tf.tidy(() => tf.variable(tf.zeros([c.epochs, names.length]), false)))
        const vars = new Map<string, tf.Variable>([["distill.components", curves]])
        for (const m of members) {
          for (const [n, v] of m.params) vars.set(`${m.role}.${n}`, v)
          for (const [n, v] of m.optimizer.state()) vars.set(`${m.role}.${n}`, v)
        }
        const sums = new Float64Array(names.length)
        let last = ""
        const step = (epoch: number, index: number, globalStep: number, batch: Batch): number => {
          const values = jointStep(members, loss, names, batch, lr.at(globalStep), c.weightDecay)
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
          teachers: plan.teachers.map((t) => [t.role, t.weights.info.teacher, t.mode, t.selection?.layer ?? null, t.head ?? null, t.freshHead?.seed ?? null]),
          arch,
        }
        const result = yield* runEpochs({ stage, run: runIdentity(stage, identity), vars, epochs: c.epochs, stepsPerEpoch: steps, fetch: batches.batch, step }).pipe(
          Effect.provideService(StageContext, noted),
        )
        yield* batches.release
        const table = curves.dataSync()
        const components = Object.fromEntries(names.map((n, i) => [n, Array.from({ length: c.epochs }, (_, e) => table[e * names.length + i] ?? NaN)]))
        const rows = (key: string): ReadonlyArray<Record<string, unknown>> => {
          const r = plan.losses.find((t) => t.key === key)?.params?.["teachers"]
          return Array.isArray(r) ? (r as ReadonlyArray<Record<string, unknown>>) : []
        }
        const num = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined)
        const teacherRecords = plan.teachers.map((t, i) => {
          const head = headOf(t)
          const kd = rows("kd-output").find((r) => r["role"] === t.role)
          const attn = rows("kd-attention").find((r) => r["role"] === t.role)
          const lambda = num(kd?.["weight"])
          const attentionWeight = num(attn?.["weight"])
          const studentHead = num(attn?.["studentHead"])
          return {
            role: t.role,
            teacher: t.weights.info.teacher,
            mode: t.mode,
            trainable: [...(members[i + 1]?.params.values() ?? [])].reduce((a, v) => a + v.size, 0),
            ...(t.selection === undefined ? {} : { layer: t.selection.layer }),
            ...(head === undefined ? {} : { head }),
            start: t.freshHead === undefined ? ("adapted" as const) : ("pretrained" as const),
            ...(t.freshHead === undefined ? {} : { headSeed: t.freshHead.seed }),
            startDigest: startDigests[i] ?? "",
            ...(lambda === undefined ? {} : { lambda }),
            ...(attentionWeight === undefined ? {} : { attentionWeight }),
            ...(studentHead === undefined ? {} : { studentHead }),
          }
        })
        const seconds = (performance.now() - started) / 1000
        const teachers = new Map<string, ReadonlyMap<string, FloatTensor>>(members.slice(1).map((m) => [m.role, modelState(m.model)]))
        const trained: Array<TrainedTeacher> = []
        if (plan.recordTeachers === true) {
          for (const [i, t] of plan.teachers.entries()) {
            const m = members[i + 1]
            if (m === undefined || m.params.size === 0) continue
            const evalBatches = yield* teacherSource(stage, data, m.info, c.batchSize)
            // One more pass over the training split per teacher (minutes at 60k images): shown as progress.
            yield* ctx.log(`${stage}: train top-1 of the ${t.role} teacher (${evalBatches.batchesPerEpoch} batches)`)
            const trainAccuracy = yield* top1(m.model, m.info, evalBatches,
              (done, total) => ctx.progress({ done, total, note: `train top-1 of the ${t.role} teacher` }))
            const count = adaptationCount(m.info.config, { kind: "partial", blocks: 1 })
            const ce = components[`ce/${t.role}`] ?? []
            trained.push({
              role: t.role,
              value: {
                info: m.info,
                state: teachers.get(t.role) ?? modelState(m.model),
                adaptation: {
                  mode: JOINT_MODE, dataset: spec.name, classes: [...set.classes], images: set.count, epochs: c.epochs, epochsRunHere: result.epochsRunHere,
                  trainable: count.trainable, total: count.total, losses: { epochs: [...ce], steps: [] }, trainAccuracy, seed: c.seed, seconds,
                },
              },
            })
          }
        }
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
          ...(trained.length === 0 ? {} : { trainedTeachers: trained }),
        }
        yield* ctx.log(`${stage}: final epoch ${names.map((n) => `${n} ${(components[n]?.at(-1) ?? NaN).toFixed(4)}`).join(", ")}`)
        return { student: value, teachers, trained }
      }),
    )
  }).pipe(Effect.scoped)
