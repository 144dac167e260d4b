/**
 * The paper end to end (METHOD.md; sec. 3-4): two SSL teachers, DINO
 * (contrastive) and MAE (masked image modeling), adapted by Partial-1; the
 * head of each teacher's last layer chosen by Attention Confidence (eq. 2);
 * a small ViT student distilled from both in one stage (eq. 4: output KD,
 * eq. 1, and attention KD, eq. 3); compared with the student alone and with
 * two-stage KD from each fine-tuned teacher (Table 2), on several downstream
 * datasets (Figure 3); plus Table 1 (linear / Partial-1 / full adaptation)
 * and Figure 1 (attention distance). Everything ends in one report (HTML +
 * Markdown + SVG/PNG) and the student as a timm checkpoint.
 *
 *   ssl-kd run pipelines/paper.ts --preset smoke     # synthetic data, about a minute
 *   ssl-kd run pipelines/paper.ts                    # demo: Fashion-MNIST, minutes on 2 cores
 *   ssl-kd run pipelines/paper.ts --preset fmnist    # full Fashion-MNIST, 3 seeds, hours
 *   ssl-kd run pipelines/paper.ts --preset imagenet  # ViT-B/16 checkpoints from files, GPU
 *
 * Scales: `pipelines/scales.ts`; node names: `pipelines/parts.ts`. E.g.
 * `--set ours.lambda1=0.7` reruns only `ours`, its evaluations, the export
 * and the report.
 */
import {
  acNodes, adaptationNodes, attentionNodes, exportNode, paperFamily, randomNode, reportNode, studentNodes, teacherNodes, teacherTop1Nodes,
} from "./parts.ts"

export default paperFamily(
  "paper",
  "Multi-teacher KD from a contrastive (DINO) and a masked-image-modeling (MAE) teacher: Partial-1 adaptation, AC head selection, one-stage joint distillation, baselines, downstream evaluation, report",
  (s) => {
    const nodes = [
      ...teacherNodes(s),
      randomNode(s),
      ...adaptationNodes(s),
      ...teacherTop1Nodes(s),
      ...acNodes(s),
      ...attentionNodes(s),
      ...studentNodes(s),
      exportNode(),
    ]
    return [...nodes, reportNode(s, nodes, "Multi-teacher knowledge distillation from SSL teachers: results")]
  },
)
