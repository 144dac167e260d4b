/**
 * The paper's pipelines are assembled from these parts, one function per
 * step of `load teachers -> adapt -> AC select -> distill -> evaluate ->
 * report`, each returning node declarations for a scale (`scales.ts`). Two
 * pipelines that include the same part give its nodes the same stage,
 * config and inputs, hence the same cache keys: `baselines.ts` reuses the
 * teachers `paper.ts` pretrained, `ablations.ts` reuses its adapted teachers
 * and head selections, and so on.
 *
 * Node names (what `--set NODE.FIELD=...` and `--force NODE` take):
 * `dino`, `mae`, `random`; `<teacher>-<mode>` (adaptation, mode `linear`,
 * `partial-1`, `full`) and `top1-<teacher>-<mode>`; `ac-<teacher>`;
 * `attention-<teacher|random>`; students `baseline`, `kd-dino`, `kd-mae`,
 * `ours` (suffix `-s<seed>` for the seeds after the first) and their
 * downstream evaluations `eval-<student>[<dataset>]`; `export`, `report`.
 */
import { Pipeline } from "../dsl/index.ts"
import type { NodeDeclaration } from "../dsl/Pipeline.ts"
import { acSelect } from "../plugins/stages/paper/acSelect.ts"
import { adaptTeacher } from "../plugins/stages/paper/adapt.ts"
import { kdSingle, trainStudent } from "../plugins/stages/paper/baselines.ts"
import { jointDistill } from "../plugins/stages/paper/distill.ts"
import { evaluate } from "../plugins/stages/paper/downstream.ts"
import { evaluateTeacher } from "../plugins/stages/paper/evaluate.ts"
import { exportStudent } from "../plugins/stages/paper/export.ts"
import { paperReport, seedWords } from "../plugins/stages/report/report.ts"
import { attentionDistance } from "../plugins/stages/teachers/analysis/attentionStage.ts"
import { attentionFigure } from "../plugins/stages/teachers/analysis/figureStage.ts"
import { knnEvaluate } from "../plugins/stages/teachers/analysis/knnStage.ts"
import { loadTeacherCheckpoint, randomTeacher } from "../plugins/stages/teachers/load.ts"
import { dinoTeacher, maeTeacher } from "../plugins/teachers/builtins.ts"
import { type Scale, type ScaleSettings, scaleNames, scales } from "./scales.ts"

const { node } = Pipeline

export const teacherNames = ["dino", "mae"] as const
export type TeacherName = (typeof teacherNames)[number]
export const adaptationModes = ["linear", "partial-1", "full"] as const
export type AdaptationMode = (typeof adaptationModes)[number]
export const studentLabels = ["baseline", "kd-dino", "kd-mae", "ours"] as const
export type StudentLabel = (typeof studentLabels)[number]

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

/** Eq. 2: the head of each Partial-1 teacher's last layer that eq. 3 distils. */
export const acNodes = (s: ScaleSettings): Array<NodeDeclaration> =>
  teacherNames.map((t) => node(`ac-${t}`, acSelect, { inputs: { teacher: `${t}-partial-1` }, config: s.ac }))

/** Figure 1: attention distance per layer of both teachers and the random-init reference. */
export const attentionNodes = (s: ScaleSettings): Array<NodeDeclaration> =>
  [...teacherNames, "random" as const].map((t) => node(`attention-${t}`, attentionDistance, { inputs: { teacher: t }, config: s.attention }))

/** Figure 1 on its own (SVG + PNG), as `pipelines/teachers.ts` draws it. */
export const figure1Node = (): NodeDeclaration =>
  node("figure1", attentionFigure, { inputs: { contrastive: "attention-dino", masked: "attention-mae", reference: "attention-random" } })

/** Node name of a student for a seed: the first seed keeps the plain name. */
export const studentNode = (s: ScaleSettings, label: StudentLabel, seed: number): string => (seed === s.seeds[0] ? label : `${label}-s${seed}`)

/**
 * The students of Table 2, one per seed: `baseline` (alone), `kd-dino` /
 * `kd-mae` (two-stage KD from the fully fine-tuned teacher), `ours` (eq. 4
 * from the Partial-1 teachers and their AC heads), each evaluated on every
 * downstream dataset (`eval-<student>`, fanned out, Figure 3).
 */
export const studentNodes = (s: ScaleSettings, labels: ReadonlyArray<StudentLabel> = studentLabels): Array<NodeDeclaration> =>
  s.seeds.flatMap((seed) =>
    labels.flatMap((label) => {
      const name = studentNode(s, label, seed)
      const recipe = { ...s.student, seed }
      const train =
        label === "baseline"
          ? node(name, trainStudent, { config: recipe })
          : label === "ours"
            ? node(name, jointDistill, { inputs: { cl: "dino-partial-1", mim: "mae-partial-1", clHeads: "ac-dino", mimHeads: "ac-mae" }, config: recipe })
            : node(name, kdSingle, { inputs: { teacher: `${label === "kd-dino" ? "dino" : "mae"}-full` }, config: recipe })
      return [train, evaluationNode(s, `eval-${name}`, name, label)]
    }),
  )

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
  const of = (stage: unknown) => present.filter((d) => d.stage === stage)
  const names = (stage: unknown) => of(stage).map((d) => d.name)
  const joint = (d: NodeDeclaration) => d.name.startsWith("top1-ours-")
  const exploratory = (d: NodeDeclaration) => String(d.config?.label ?? "").startsWith("x-")
  return node("report", paperReport, {
    inputs: {
      adaptation: of(evaluateTeacher).filter((d) => !joint(d)).map((d) => d.name),
      jointTeachers: of(evaluateTeacher).filter(joint).map((d) => d.name),
      scores: of(evaluate).filter((d) => !exploratory(d)).map((d) => d.name),
      ablations: of(evaluate).filter(exploratory).map((d) => d.name),
      attention: names(attentionDistance),
      heads: names(acSelect),
      knn: names(knnEvaluate),
      // Loss curves: the SSL pretraining stages (not checkpoint loads, which can be large) and every student.
      pretraining: present.filter((d) => d.over === undefined && d.stage.name.startsWith("teachers/pretrain")).map((d) => d.name),
      students: present.filter((d) => d.over === undefined && d.stage.output.name === "DistilledStudent").map((d) => d.name),
    },
    config: { title, primaryDataset: s.dataset, notes: `Scale ${s.scale} (pipelines/scales.ts); ${seedWords(s.seeds)}.` },
  })
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
