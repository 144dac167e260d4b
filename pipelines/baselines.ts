/**
 * The comparison rows of the paper's Table 2 on their own: the student
 * trained alone, and two-stage KD (eq. 1 with one teacher) from each SSL
 * teacher fine-tuned first, each evaluated downstream (Figure 3). Shares
 * every node with `paper.ts` (same configs, same cache entries).
 *
 *   ssl-kd run pipelines/baselines.ts --preset smoke|demo|fmnist|imagenet
 */
import { adaptationNodes, paperFamily, reportNode, studentNodes, teacherNodes } from "./parts.ts"

export default paperFamily(
  "baselines",
  "Table 2's comparison rows: the student alone and single-teacher KD from each fine-tuned SSL teacher, evaluated downstream",
  (s) => {
    const nodes = [...teacherNodes(s), ...adaptationNodes(s, ["full"]), ...studentNodes(s, ["baseline", "kd-dino", "kd-mae"])]
    return [...nodes, reportNode(s, nodes, "Baselines: the student alone and single-teacher KD")]
  },
)
