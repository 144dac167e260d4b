/**
 * The paper's Table 1 at local scale (sec. 3.1): each SSL teacher (DINO,
 * contrastive; MAE, masked image modeling), pretrained by the very same
 * stages and configs as `pipelines/teachers.ts` (so a shared cache serves
 * them), put on the downstream task by linear evaluation, Partial-1 and
 * fine-tuning; each row reports the trainable-parameter count and the test
 * top-1. The Partial-1 teachers then get their eq. 2 head table for the last
 * layer (sec. 3.3), the head eq. 3 would distil.
 *
 *   ssl-kd run pipelines/teacher-adaptation.ts --preset smoke   # synthetic data, seconds
 *   ssl-kd run pipelines/teacher-adaptation.ts                  # demo: Fashion-MNIST, minutes on 2 cores
 *   ssl-kd run pipelines/teacher-adaptation.ts --preset fmnist|imagenet
 */
import { acNodes, adaptationNodes, paperFamily, reportNode, teacherNodes, teacherTop1Nodes } from "./parts.ts"

export default paperFamily(
  "teacher-adaptation",
  "Table 1 analog: DINO and MAE teachers adapted by linear / Partial-1 / fine-tuning, trainable parameters and test top-1; eq. 2 head tables of the Partial-1 teachers",
  (s) => {
    const nodes = [...teacherNodes(s), ...adaptationNodes(s), ...teacherTop1Nodes(s), ...acNodes(s)]
    return [...nodes, reportNode(s, nodes, "Adapting SSL teachers: linear, Partial-1, full (Table 1)")]
  },
)
