/**
 * The comparison rows of the paper's Table 2 on their own: the student
 * trained alone; two-stage output KD (eq. 1) from each SSL teacher fine-tuned
 * first (`kd-dino`, `kd-mae`), from both (`kd-both`), and from each
 * Partial-1 teacher (`kd-dino-p1`, `kd-mae-p1`); each evaluated downstream
 * (Figure 3). Shares every node with `paper.ts` (same configs, same cache
 * entries).
 *
 *   ssl-kd run pipelines/baselines.ts --preset smoke|demo|fmnist|imagenet
 */
import { type Arm, paperFamily, reportNode, studentNodes, supportNodes, teacherNodes } from "./parts.ts"

const rows: ReadonlyArray<Arm> = ["baseline", "kd-dino", "kd-mae", "kd-both", "kd-dino-p1", "kd-mae-p1"]

export default paperFamily(
  "baselines",
  "Table 2's comparison rows: the student alone and output KD from fine-tuned or Partial-1 SSL teachers (one or both), evaluated downstream",
  (s) => {
    const nodes = [...teacherNodes(s), ...supportNodes(s, rows), ...studentNodes(s, rows)]
    return [...nodes, reportNode(s, nodes, "Baselines: the student alone and output KD")]
  },
)
