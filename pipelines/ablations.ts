/**
 * Exploratory ablations of the paper's method (sec. 3.4), on the scale's
 * first seed only (node and label prefix `x-`; one seed cannot separate
 * small differences from noise): the weight l1 between the two teachers'
 * outputs (eq. 1: 0, .25, .75, 1; 0.5 is `ours`), the weight l2 between
 * their attention maps (eq. 3: .5, 1; 0 is `ours`), and every head of each
 * teacher in place of its Attention Confidence choice (eq. 2; the MIM
 * teacher at the paper's l2 = 0, against `ours`; the CL teacher at l2 = 0.5,
 * against `x-l2-50`, since at l2 = 0 its head is not distilled). Every
 * variant is the one-stage `ours` of `paper.ts` with one setting changed,
 * evaluated on the same downstream datasets; the teachers and the AC
 * selection are shared (same cache entries).
 *
 *   ssl-kd run pipelines/ablations.ts --preset smoke|demo|fmnist|repro|imagenet
 */
import { acNodes, exploratoryNodes, paperFamily, reportNode, studentNodes, teacherNodes } from "./parts.ts"

export default paperFamily(
  "ablations",
  "Exploratory ablations of eq. 4 on one seed: lambda1 (output KD balance), lambda2 (attention KD balance), each teacher head vs the AC-selected one",
  (s) => {
    const seed = s.seeds[0] ?? 0
    const nodes = [...teacherNodes(s), ...acNodes(s), ...studentNodes(s, ["ours"], [seed]), ...exploratoryNodes(s, seed)]
    return [...nodes, reportNode(s, nodes, "Exploratory ablations of the joint distillation (eq. 4), one seed")]
  },
)
