/**
 * Distillation from three SSL teachers: the paper's DINO (contrastive) and MAE
 * (masked image modeling), plus iBOT (`teacher.ts`, both in one), added
 * without changing the library: its pretraining stage, objective, masks and
 * registration live in this folder; the pipeline reuses the paper's parts,
 * so `dino`, `mae`, their AC selections, `baseline` and `ours` are the same
 * nodes with the same cache keys as `pipelines/paper.ts` at the same preset.
 *
 *   ssl-kd run examples/ibot/three-teachers.ts --preset smoke   # synthetic data, about a minute
 *   ssl-kd run examples/ibot/three-teachers.ts                  # demo: Fashion-MNIST, 3000 images
 *
 * Nodes: `dino`, `mae`, `ibot` (pretrained here; iBOT with DINO's settings of
 * the scale plus iBOT's masking), `random` (a random-init ViT), `knn-<teacher>`
 * and `knn-<teacher>-mean` (gate 1: k-NN of frozen class / mean patch tokens),
 * `ac-<teacher>` (eq. 2 on each pretrained teacher), and the students, each with its downstream evaluation:
 * - `baseline`: the student alone;
 * - `ours`: the paper's two-teacher eq. 4 (DINO + MAE);
 * - `ours-3`: eq. 4 over three teachers, lambda 1/3 each (eq. 1); eq. 3
 *   from MAE's AC head onto student head 1 (as `ours`) and from iBOT's AC
 *   head onto student head 0, which `ours` leaves undistilled (its CL
 *   weight l2 is 0), weights 1/2 each so L_Attn keeps the scale of `ours`;
 * - `teacher-ours-3-<teacher>` and `top1-ours-3-<teacher>`: each teacher as it
 *   ended `ours-3` (Partial-1 trained inside the run) and its test top-1.
 * Table 1 (linear / Partial-1 / full) of iBOT is not computed here:
 * `adaptationNodes` in `pipelines/parts.ts` shows how to add it.
 */
import { Pipeline } from "../../dsl/index.ts"
import { acSelectPretrained, evaluateTeacher, jointDistill, jointTeacher, knnEvaluate } from "../../plugins/index.ts"
import { evaluationNode, knnNodes, randomNode, reportNode, studentNodes, teacherNodes } from "../../pipelines/parts.ts"
import { type ScaleSettings, scales } from "../../pipelines/scales.ts"
import { pretrainIbot } from "./teacher.ts"

const { node } = Pipeline
type NodeDeclaration = Pipeline.NodeDeclaration

/** iBOT at a scale: the scale's DINO settings (same data, backbone, crops, head, epochs), teacher name `ibot`. */
const ibotNode = (s: ScaleSettings): NodeDeclaration => node("ibot", pretrainIbot, { config: { ...s.teachers.dino.config, teacher: "ibot" } })

const threeTeachers = (s: ScaleSettings): Array<NodeDeclaration> => {
  const third = 1 / 3
  const ours3 = node("ours-3", jointDistill, {
    inputs: { pretrained: ["dino", "mae", "ibot"], adapted: [], heads: ["ac-mae", "ac-ibot"] },
    config: {
      ...s.student,
      seed: s.seeds[0] ?? 0,
      teachers: [
        { teacher: "dino", role: "cl", lambda: third },
        { teacher: "mae", role: "mim", lambda: third, attention: { heads: "ac-mae", weight: 0.5, studentHead: 1 } },
        { teacher: "ibot", role: "ibot", lambda: third, attention: { heads: "ac-ibot", weight: 0.5, studentHead: 0 } },
      ],
    },
  })
  const nodes = [
    ...teacherNodes(s),
    ibotNode(s),
    ...["dino", "mae", "ibot"].map((t) => node(`ac-${t}`, acSelectPretrained, { inputs: { teacher: t }, config: s.ac })),
    // Gate 1 for the new teacher: k-NN of its frozen features beside DINO's, MAE's and a random-init ViT's.
    randomNode(s),
    ...knnNodes(s),
    ...(s.knn === undefined ? [] : [node("knn-ibot", knnEvaluate, { inputs: { teacher: "ibot" }, config: s.knn }), node("knn-ibot-mean", knnEvaluate, { inputs: { teacher: "ibot" }, config: { ...s.knn, pooling: "mean-patch" } })]),
    ...studentNodes(s, ["baseline", "ours"], s.seeds.slice(0, 1)),
    ours3,
    evaluationNode(s, "eval-ours-3", "ours-3", "ours-3"),
    // Each teacher as it ended the three-teacher run, and its test top-1 (the report's "Teachers after joint training").
    ...([["cl", "dino"], ["mim", "mae"], ["ibot", "ibot"]] as const).flatMap(([role, t]) => [
      node(`teacher-ours-3-${t}`, jointTeacher, { inputs: { model: "ours-3" }, config: { role } }),
      node(`top1-ours-3-${t}`, evaluateTeacher, { inputs: { teacher: `teacher-ours-3-${t}` }, config: s.teacherTop1 }),
    ]),
  ]
  return [...nodes, reportNode(s, nodes, "Distillation from three SSL teachers: DINO, MAE and iBOT")]
}

export default Pipeline.family(
  "three-teachers",
  {
    smoke: Pipeline.fromDeclarations("three-teachers", threeTeachers(scales.smoke), {}, "DINO + MAE + iBOT into one student, smoke scale"),
    demo: Pipeline.fromDeclarations("three-teachers", threeTeachers(scales.demo), {}, "DINO + MAE + iBOT into one student, demo scale"),
  },
  "demo",
)
