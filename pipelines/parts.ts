/**
 * The paper's pipelines are assembled from these parts, one function per
 * step of `load teachers -> adapt -> AC select -> distill -> evaluate ->
 * report`, each returning node declarations for a scale (`scales.ts`). Two
 * pipelines that include the same part give its nodes the same stage,
 * config and inputs, hence the same cache keys: `baselines.ts` reuses the
 * teachers `paper.ts` pretrained, `ablations.ts` reuses its head
 * selections and its `ours`, and so on.
 *
 * Node names (what `--set NODE.FIELD=...` and `--force NODE` take):
 * - teachers `dino`, `mae` (SSL-pretrained), `random`; adaptation
 *   `<teacher>-<mode>` (mode `linear`, `partial-1`, `full`) and its test
 *   top-1 `top1-<teacher>-<mode>`; `attention-<teacher|random>`, `figure1`;
 * - eq. 2: `ac-<teacher>` on the PRETRAINED teacher (the paper's order, read
 *   by `ours`), `ac-<teacher>-p1` on its Partial-1 adaptation (read by
 *   `ours-warm`);
 * - the arms of Table 2 (`arms`), one student node per seed, named
 *   `<arm>` for the scale's first seed and `<arm>-s<seed>` for the others:
 *   - `baseline`: the student alone (CE);
 *   - `kd-dino`, `kd-mae`: output KD from one frozen, fully fine-tuned
 *     teacher (`<teacher>-full`);
 *   - `ours`: true one-stage eq. 4: both SSL-pretrained teachers with fresh
 *     heads train Partial-1 inside the run, AC heads from `ac-<teacher>`;
 *   - `ours-warm`: eq. 4 from the Partial-1-adapted teachers
 *     (`<teacher>-partial-1`, heads `ac-<teacher>-p1`): warm-started, the
 *     labelled comparison of METHOD.md sec. 3.4;
 *   - `kd-both`: two-teacher output KD (eq. 1, l1 = 0.5) from the frozen,
 *     fully fine-tuned teachers, no attention term;
 *   - `ours-no-attn`: `ours` with L_Attn's weight 0 (eq. 4 without eq. 3);
 *   - `kd-dino-p1`, `kd-mae-p1`: output KD from one frozen Partial-1 teacher;
 * - each student's downstream evaluation `eval-<student>[<dataset>]` (a
 *   fan-out; label: the arm, seed: the student's `seed`, recorded by
 *   `paper/evaluate` in its `DownstreamScore`);
 * - the teachers as they ended a joint arm: `teacher-<arm>-<teacher>[-s<seed>]`
 *   (`paper/joint-teacher`) and its test top-1 `top1-<arm>-<teacher>[-s<seed>]`
 *   (mode `joint partial-1`), for `ours`, `ours-warm`, `ours-no-attn`;
 * - exploratory ablations on the first seed only, node prefix `x-` (labels
 *   `x-lambda1-<v>`, `x-lambda2-<v>`, `x-head-<teacher>-<h>` for the report's
 *   ablation tables and claims c, d): `x-l1-0`, `x-l1-25`, `x-l1-75`, `x-l1-100` (lambda1; 0.5 is
 *   `ours`), `x-l2-50`, `x-l2-100` (lambda2; 0 is `ours`), and
 *   `x-<teacher>-h<h>` for every head h of each teacher (eq. 3 from head h
 *   instead of the AC head): the MIM teacher's at the paper's l2 = 0 (its AC
 *   counterpart is `ours`), the CL teacher's at l2 = 0.5 (with l2 = 0 the
 *   CL head is not distilled at all); the AC head's own arm is among them;
 * - `export`, `report`.
 */
import { Effect } from "effect"
import { Pipeline } from "../dsl/index.ts"
import type { NodeDeclaration } from "../dsl/Pipeline.ts"
import { acSelect, acSelectPretrained } from "../plugins/stages/paper/acSelect.ts"
import { adaptTeacher } from "../plugins/stages/paper/adapt.ts"
import { kdSingle, trainStudent } from "../plugins/stages/paper/baselines.ts"
import { evaluate } from "../plugins/stages/paper/downstream.ts"
import { evaluateTeacher } from "../plugins/stages/paper/evaluate.ts"
import { exportStudent } from "../plugins/stages/paper/export.ts"
import { jointDistill, paperTeachers } from "../plugins/stages/paper/joint.ts"
import { jointTeacher } from "../plugins/stages/paper/jointTeacher.ts"
import { paperReport, seedWords } from "../plugins/stages/report/report.ts"
import { attentionDistance } from "../plugins/stages/teachers/analysis/attentionStage.ts"
import { attentionFigure } from "../plugins/stages/teachers/analysis/figureStage.ts"
import { knnEvaluate } from "../plugins/stages/teachers/analysis/knnStage.ts"
import { loadTeacherCheckpoint, randomTeacher } from "../plugins/stages/teachers/load.ts"
import { resolveArch } from "../plugins/teachers/architecture.ts"
import { dinoTeacher, maeTeacher } from "../plugins/teachers/builtins.ts"
import { type Scale, type ScaleSettings, scaleNames, scales } from "./scales.ts"

const { node } = Pipeline

export const teacherNames = ["dino", "mae"] as const
export type TeacherName = (typeof teacherNames)[number]
/** The paper's teacher table: each SSL teacher's node and its role in eq. 1 / eq. 3 (CL first, MIM second). */
export const paperTeacherRoles = { cl: "dino", mim: "mae" } as const satisfies Record<"cl" | "mim", TeacherName>
export const adaptationModes = ["linear", "partial-1", "full"] as const
export type AdaptationMode = (typeof adaptationModes)[number]

/** Every arm of Table 2 (see the header for what each is). */
export const arms = ["baseline", "kd-dino", "kd-mae", "ours", "ours-warm", "kd-both", "ours-no-attn", "kd-dino-p1", "kd-mae-p1"] as const
export type Arm = (typeof arms)[number]
/** The arms a minutes-long run affords (smoke, demo). */
export const demoArms: ReadonlyArray<Arm> = ["baseline", "kd-dino", "kd-mae", "ours", "ours-warm"]
/** Joint arms whose teachers train inside the run: their final teachers are scored (`top1-<arm>-<teacher>`). */
export const jointArms: ReadonlyArray<Arm> = ["ours", "ours-warm", "ours-no-attn"]

/** The SSL teachers: pretrained here (DINO, MAE objectives) or read from checkpoint files. */
export const teacherNodes = (s: ScaleSettings): Array<NodeDeclaration> =>
  teacherNames.map((t) => {
    const source = s.teachers[t]
    if (source.kind === "checkpoint") return node(t, loadTeacherCheckpoint, { config: source.config })
    return node(t, t === "dino" ? dinoTeacher.pretrain : maeTeacher.pretrain, { config: source.config })
  })

/** A random-init ViT of the teachers' shape (Figure 1's reference). */
export const randomNode = (s: ScaleSettings): NodeDeclaration => node("random", randomTeacher, { config: s.teachers.random as never })

/** Each teacher adapted to the task by each mode (sec. 3.1): nodes `<teacher>-<mode>`. */
export const adaptationNodes = (s: ScaleSettings, modes: ReadonlyArray<AdaptationMode> = adaptationModes): Array<NodeDeclaration> =>
  teacherNames.flatMap((t) => modes.map((m) => node(`${t}-${m}`, adaptTeacher, { inputs: { teacher: t }, config: { ...s.adapt, mode: m, lr: s.adaptLr[m] } })))

/** Table 1's cells: test top-1 of each adapted teacher's head. */
export const teacherTop1Nodes = (s: ScaleSettings, modes: ReadonlyArray<AdaptationMode> = adaptationModes): Array<NodeDeclaration> =>
  teacherNames.flatMap((t) => modes.map((m) => node(`top1-${t}-${m}`, evaluateTeacher, { inputs: { teacher: `${t}-${m}` }, config: s.teacherTop1 })))

/**
 * Eq. 2: the head of each teacher's last layer that eq. 3 distils, read on
 * the `pretrained` teacher (`ac-<teacher>`, the paper's order: before
 * adaptation; used by `ours`) or on its `partial-1` adaptation
 * (`ac-<teacher>-p1`; used by `ours-warm`).
 */
export const acNodes = (s: ScaleSettings, on: ReadonlyArray<"pretrained" | "partial-1"> = ["pretrained"]): Array<NodeDeclaration> =>
  on.flatMap((o) =>
    teacherNames.map((t) =>
      o === "pretrained"
        ? node(`ac-${t}`, acSelectPretrained, { inputs: { teacher: t }, config: s.ac })
        : node(`ac-${t}-p1`, acSelect, { inputs: { teacher: `${t}-partial-1` }, config: s.ac }),
    ),
  )

/** Figure 1: attention distance per layer of both teachers and the random-init reference. */
export const attentionNodes = (s: ScaleSettings): Array<NodeDeclaration> =>
  [...teacherNames, "random" as const].map((t) => node(`attention-${t}`, attentionDistance, { inputs: { teacher: t }, config: s.attention }))

/** Figure 1 on its own (SVG + PNG), as `pipelines/teachers.ts` draws it. */
export const figure1Node = (): NodeDeclaration =>
  node("figure1", attentionFigure, { inputs: { contrastive: "attention-dino", masked: "attention-mae", reference: "attention-random" } })

/** Gate 1: k-NN top-1 of each teacher's frozen features, class token (`knn-<t>`) and mean patch token (`knn-<t>-mean`), SSL teachers and the random-init ViT; none without `s.knn`. */
export const knnNodes = (s: ScaleSettings): Array<NodeDeclaration> => {
  const knn = s.knn
  return knn === undefined
    ? []
    : [...teacherNames, "random" as const].flatMap((t) => [
      node(`knn-${t}`, knnEvaluate, { inputs: { teacher: t }, config: knn }),
      node(`knn-${t}-mean`, knnEvaluate, { inputs: { teacher: t }, config: { ...knn, pooling: "mean-patch" } }),
    ])
}

/** Suffix of a node for a seed: none for the scale's first seed, `-s<seed>` otherwise. */
export const seedSuffix = (s: ScaleSettings, seed: number): string => (seed === s.seeds[0] ? "" : `-s${seed}`)

/** Node name of a student (an arm or an `x-` ablation) for a seed: the first seed keeps the plain name. */
export const studentNode = (s: ScaleSettings, label: string, seed: number): string => `${label}${seedSuffix(s, seed)}`

/** The one-stage joint wiring of `ours`: the SSL-pretrained teachers, their pretrained AC selections. */
const oneStage = {
  inputs: { pretrained: [paperTeacherRoles.cl, paperTeacherRoles.mim], adapted: [], heads: [`ac-${paperTeacherRoles.cl}`, `ac-${paperTeacherRoles.mim}`] },
  teachers: paperTeachers({ cl: paperTeacherRoles.cl, mim: paperTeacherRoles.mim, clHeads: `ac-${paperTeacherRoles.cl}`, mimHeads: `ac-${paperTeacherRoles.mim}` }),
}

/** The training node of `arm` (named `name`), with `change` applied to the joint arms' config (the ablations). */
export const armStudent = (s: ScaleSettings, arm: Arm, name: string, seed: number, change: Readonly<Record<string, unknown>> = {}): NodeDeclaration => {
  const recipe = { ...s.student, seed }
  const { cl, mim } = paperTeacherRoles
  switch (arm) {
    case "baseline":
      return node(name, trainStudent, { config: recipe })
    case "kd-dino":
    case "kd-mae":
      return node(name, kdSingle, { inputs: { teacher: `${arm.slice(3)}-full` }, config: recipe })
    case "kd-dino-p1":
    case "kd-mae-p1":
      return node(name, kdSingle, { inputs: { teacher: `${arm.slice(3, -3)}-partial-1` }, config: recipe })
    case "ours":
      return node(name, jointDistill, { inputs: oneStage.inputs, config: { ...recipe, teachers: oneStage.teachers, ...change } })
    case "ours-no-attn":
      return node(name, jointDistill, { inputs: oneStage.inputs, config: { ...recipe, teachers: oneStage.teachers, attentionWeight: 0, ...change } })
    case "ours-warm":
      return node(name, jointDistill, {
        inputs: { pretrained: [], adapted: [`${cl}-partial-1`, `${mim}-partial-1`], heads: [`ac-${cl}-p1`, `ac-${mim}-p1`] },
        config: { ...recipe, teachers: paperTeachers({ cl: `${cl}-partial-1`, mim: `${mim}-partial-1`, clHeads: `ac-${cl}-p1`, mimHeads: `ac-${mim}-p1` }), ...change },
      })
    case "kd-both":
      return node(name, jointDistill, {
        inputs: { pretrained: [], adapted: [`${cl}-full`, `${mim}-full`], heads: [] },
        config: { ...recipe, teachers: paperTeachers({ cl: `${cl}-full`, mim: `${mim}-full`, mode: "frozen" }), ...change },
      })
  }
}

/** A joint arm's teachers as they ended: `teacher-<arm>-<teacher>[-s<seed>]` and their test top-1 `top1-<arm>-<teacher>[-s<seed>]`. */
export const jointTeacherNodes = (s: ScaleSettings, arm: string, seed: number): Array<NodeDeclaration> =>
  (Object.entries(paperTeacherRoles) as Array<[string, TeacherName]>).flatMap(([role, t]) => {
    const suffix = seedSuffix(s, seed)
    return [
      node(`teacher-${arm}-${t}${suffix}`, jointTeacher, { inputs: { model: studentNode(s, arm, seed) }, config: { role } }),
      node(`top1-${arm}-${t}${suffix}`, evaluateTeacher, { inputs: { teacher: `teacher-${arm}-${t}${suffix}` }, config: s.teacherTop1 }),
    ]
  })

/**
 * The students of Table 2, `arms` x the scale's seeds: each arm's training
 * node (`<arm>[-s<seed>]`), its downstream evaluation
 * (`eval-<arm>[-s<seed>]`, label `<arm>`, fanned out, Figure 3) and, for
 * the joint arms, its teachers' test top-1. Needs the nodes the arms read
 * (`arms`'s comment, `supportNodes`).
 */
export const studentNodes = (s: ScaleSettings, which: ReadonlyArray<Arm> = demoArms, seeds: ReadonlyArray<number> = s.seeds): Array<NodeDeclaration> =>
  seeds.flatMap((seed) =>
    which.flatMap((arm) => {
      const name = studentNode(s, arm, seed)
      return [armStudent(s, arm, name, seed), evaluationNode(s, `eval-${name}`, name, arm), ...(jointArms.includes(arm) ? jointTeacherNodes(s, arm, seed) : [])]
    }),
  )

/** The teachers' head count (eq. 3's heads), from the scale's teacher config. */
export const teacherHeads = (s: ScaleSettings, t: TeacherName): number => {
  const c = s.teachers[t].config as Readonly<Record<string, unknown>>
  const n = (k: string) => (typeof c[k] === "number" ? (c[k] as number) : 0)
  const arch = typeof c["arch"] === "string" ? (c["arch"] as string) : ""
  if (arch === "") throw new TypeError(`scale ${s.scale}: teacher ${t} names no arch; the head ablation needs its head count`)
  return Effect.runSync(resolveArch(arch, { arch, embedDim: n("embedDim"), depth: n("depth"), numHeads: n("numHeads") })).config.numHeads
}

/**
 * The exploratory ablations of `ours` (one seed, node prefix `x-`): node name
 * -> its report label (`x-lambda1-<v>`, `x-lambda2-<v>`, `x-head-<teacher>-<h>`)
 * and the joint-distill settings it changes.
 */
export const exploratoryVariants = (s: ScaleSettings): Readonly<Record<string, { readonly label: string; readonly change: Readonly<Record<string, unknown>> }>> => {
  const withHead = (t: TeacherName, head: number) =>
    oneStage.teachers.map((row) => (row.teacher === t && row.attention !== undefined ? { ...row, attention: { ...row.attention, head } } : row))
  const heads = (t: TeacherName, lambda2: number) =>
    Object.fromEntries(Array.from({ length: teacherHeads(s, t) }, (_, h) => [`x-${t}-h${h}`, { label: `x-head-${t}-${h}`, change: { lambda2, teachers: withHead(t, h) } }]))
  const lambda = (k: "lambda1" | "lambda2", v: number) => [`x-${k === "lambda1" ? "l1" : "l2"}-${Math.round(v * 100)}`, { label: `x-${k}-${v}`, change: { [k]: v } }] as const
  return {
    ...Object.fromEntries([lambda("lambda1", 0), lambda("lambda1", 0.25), lambda("lambda1", 0.75), lambda("lambda1", 1), lambda("lambda2", 0.5), lambda("lambda2", 1)]),
    ...heads(paperTeacherRoles.mim, 0),
    ...heads(paperTeacherRoles.cl, 0.5),
  }
}

/** The exploratory ablations on `seed` (default: the scale's first): `x-...` students and their evaluations `eval-x-...` (labels `x-<group>-<value>`, the report's ablation tables and claims c, d). Need `ac-<teacher>`. */
export const exploratoryNodes = (s: ScaleSettings, seed: number = s.seeds[0] ?? 0): Array<NodeDeclaration> =>
  Object.entries(exploratoryVariants(s)).flatMap(([name, { label, change }]) => [armStudent(s, "ours", name, seed, change), evaluationNode(s, `eval-${name}`, name, label)])

/**
 * The nodes `which` arms read besides the SSL teachers: the adaptations
 * (`<teacher>-full` for kd-*, kd-both; `<teacher>-partial-1` for
 * ours-warm, kd-*-p1) and the AC selections (`ac-<teacher>` for ours,
 * ours-no-attn and the ablations; `ac-<teacher>-p1` for ours-warm).
 */
export const supportNodes = (s: ScaleSettings, which: ReadonlyArray<Arm>, o: { readonly modes?: ReadonlyArray<AdaptationMode> } = {}): Array<NodeDeclaration> => {
  const has = (...a: ReadonlyArray<Arm>) => a.some((x) => which.includes(x))
  const modes = o.modes ?? adaptationModes.filter((m) => (m === "full" ? has("kd-dino", "kd-mae", "kd-both") : m === "partial-1" ? has("ours-warm", "kd-dino-p1", "kd-mae-p1") : false))
  const ac = [...(has("ours", "ours-no-attn") ? (["pretrained"] as const) : []), ...(has("ours-warm") ? (["partial-1"] as const) : [])]
  return [...adaptationNodes(s, modes), ...acNodes(s, ac)]
}

/** A student's downstream evaluation, fanned out over the scale's datasets. */
export const evaluationNode = (s: ScaleSettings, name: string, model: string, label: string): NodeDeclaration =>
  node(name, evaluate, { inputs: { model }, config: { label }, over: s.downstream })

/** The distilled student as a timm checkpoint (`model.safetensors` + `config.json`). */
export const exportNode = (): NodeDeclaration => node("export", exportStudent, { inputs: { model: "ours" } })

/**
 * The report, gathering whatever the pipeline computed: Table 1
 * (`top1-<teacher>-<mode>`), the teachers after joint training
 * (`top1-ours-<teacher>`), Table 2 / Figure 3 (`paper/evaluate` nodes; labels
 * starting `x-` go to the exploratory ablations), Figure 1, eq. 2 and the
 * k-NN results of gate 1 (`teachers/knn` nodes), and the loss curves of the
 * pretraining stages and the students.
 */
export const reportNode = (s: ScaleSettings, present: ReadonlyArray<NodeDeclaration>, title: string): NodeDeclaration => {
  const of = (...stages: ReadonlyArray<unknown>) => present.filter((d) => stages.includes(d.stage))
  const names = (...stages: ReadonlyArray<unknown>) => of(...stages).map((d) => d.name)
  const joint = (d: NodeDeclaration) => d.name.startsWith("top1-ours-")
  const exploratory = (d: NodeDeclaration) => String(d.config?.label ?? "").startsWith("x-")
  return node("report", paperReport, {
    inputs: {
      adaptation: of(evaluateTeacher).filter((d) => !joint(d)).map((d) => d.name),
      jointTeachers: of(evaluateTeacher).filter(joint).map((d) => d.name),
      scores: of(evaluate).filter((d) => !exploratory(d)).map((d) => d.name),
      ablations: of(evaluate).filter(exploratory).map((d) => d.name),
      attention: names(attentionDistance),
      heads: names(acSelectPretrained, acSelect),
      knn: names(knnEvaluate),
      // Loss curves: the SSL pretraining stages (not checkpoint loads, which can be large) and every student.
      pretraining: present.filter((d) => d.over === undefined && d.stage.name.startsWith("teachers/pretrain")).map((d) => d.name),
      students: present.filter((d) => d.over === undefined && d.stage.output.name === "DistilledStudent").map((d) => d.name),
    },
    config: { title, primaryDataset: s.dataset, notes: `Scale ${s.scale} (pipelines/scales.ts); ${seedWords(s.seeds)}.` },
  })
}

/**
 * Everything before the students: the teachers and a random-init ViT,
 * Table 1 (every adaptation mode and its top-1), both AC selections,
 * attention distance and k-NN. `paperNodes` starts with these;
 * `preconditions.ts` is these alone.
 */
export const teacherSideNodes = (s: ScaleSettings): Array<NodeDeclaration> => [
  ...teacherNodes(s),
  randomNode(s),
  ...adaptationNodes(s),
  ...teacherTop1Nodes(s),
  ...acNodes(s, ["pretrained", "partial-1"]),
  ...attentionNodes(s),
  ...knnNodes(s),
]

/**
 * The paper end to end for a scale: teachers, Figure 1, Table 1 (every
 * adaptation mode), both AC selections, the `arms` x seeds students with
 * their evaluations and joint teachers, optionally the `x-` ablations on the
 * first seed, the export of `ours`. The report is added by the caller
 * (`reportNode(s, nodes, title)`). E.g. a reproduction scale:
 * `paperNodes(s, { arms, exploratory: true })`.
 */
export const paperNodes = (s: ScaleSettings, o: { readonly arms?: ReadonlyArray<Arm>; readonly exploratory?: boolean } = {}): Array<NodeDeclaration> => {
  const which = o.arms ?? demoArms
  return [
    ...teacherSideNodes(s),
    ...studentNodes(s, which),
    ...(o.exploratory === true ? exploratoryNodes(s) : []),
    ...(which.includes("ours") ? [exportNode()] : []),
  ]
}

/**
 * One pipeline per scale from `nodes(settings)`, bundled as a family: `--preset
 * smoke|demo|fmnist|imagenet` picks the scale, `demo` without a preset.
 */
export const paperFamily = (name: string, description: string, nodes: (s: ScaleSettings) => ReadonlyArray<NodeDeclaration>) =>
  Pipeline.family(
    name,
    Object.fromEntries(scaleNames.map((scale: Scale) => [scale, Pipeline.fromDeclarations(name, nodes(scales[scale]), {}, description)])) as Record<Scale, ReturnType<typeof Pipeline.fromDeclarations>>,
    "demo",
  )
