/**
 * The paper's Figure 1: mean attention distance per layer of the
 * contrastive (DINO) and the masked-image-modeling (MAE) teacher, against a
 * random-init ViT of the same shape; drawn as SVG and PNG (`figure1`) and in
 * the report. The paper's observation: the contrastive teacher attends more
 * globally in its deep layers. Shares its teachers with `paper.ts`.
 *
 *   ssl-kd run pipelines/attention-distance.ts --preset smoke|demo|fmnist|imagenet
 */
import { attentionNodes, figure1Node, paperFamily, randomNode, reportNode, teacherNodes } from "./parts.ts"

export default paperFamily(
  "attention-distance",
  "Figure 1 analog: mean attention distance per layer of the DINO and MAE teachers and a random-init ViT",
  (s) => {
    const nodes = [...teacherNodes(s), randomNode(s), ...attentionNodes(s), figure1Node()]
    return [...nodes, reportNode(s, nodes, "Attention distance of the SSL teachers (Figure 1)")]
  },
)
