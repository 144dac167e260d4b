/**
 * The paper end to end (METHOD.md; sec. 3-4): two SSL teachers, DINO
 * (contrastive) and MAE (masked image modeling); the head of each teacher's
 * last layer chosen by Attention Confidence (eq. 2) on the pretrained
 * teachers; a small ViT student distilled from both in one stage (eq. 4:
 * the teachers enter SSL-pretrained with fresh heads and train Partial-1
 * inside the run; output KD, eq. 1, and attention KD, eq. 3); compared with
 * the student alone, two-stage KD from each fine-tuned teacher and the
 * warm-started variant (`ours-warm`, from the Partial-1 teachers) (Table 2),
 * on several downstream datasets (Figure 3); plus Table 1 (linear /
 * Partial-1 / full adaptation, and each teacher after the joint run) and
 * Figure 1 (attention distance). Everything ends in one report (HTML +
 * Markdown + SVG/PNG) and the student as a timm checkpoint.
 *
 *   ssl-kd run pipelines/paper.ts --preset smoke     # synthetic data, about a minute
 *   ssl-kd run pipelines/paper.ts                    # demo: Fashion-MNIST, minutes on 2 cores
 *   ssl-kd run pipelines/paper.ts --preset fmnist    # full Fashion-MNIST, 3 seeds, every arm, hours
 *   ssl-kd run pipelines/paper.ts --preset repro     # issue 11's reproduction: 7x7 grid, 3 paired seeds, every arm, ~6 h on 2 cores
 *   ssl-kd run pipelines/paper.ts --preset imagenet  # ViT-B/16 checkpoints from files, GPU
 *
 * Arms: smoke and demo run `demoArms` (baseline, kd-dino, kd-mae, ours,
 * ours-warm); fmnist, repro and imagenet every arm. The exploratory
 * ablations (one seed) are `pipelines/ablations.ts` with the same preset: it
 * shares the teachers, AC selection and `ours` cache entries. Scales: `pipelines/scales.ts`;
 * node names: `pipelines/parts.ts`. E.g. `--set ours.lambda1=0.7` reruns
 * only `ours`, its evaluations and teachers' top-1, the export and the report.
 */
import { arms, demoArms, paperFamily, paperNodes, reportNode } from "./parts.ts"

export default paperFamily(
  "paper",
  "Multi-teacher KD from a contrastive (DINO) and a masked-image-modeling (MAE) teacher: AC head selection, one-stage joint distillation with Partial-1 teachers, baselines, downstream evaluation, report",
  (s) => {
    const nodes = paperNodes(s, { arms: s.scale === "smoke" || s.scale === "demo" ? demoArms : arms })
    return [...nodes, reportNode(s, nodes, "Multi-teacher knowledge distillation from SSL teachers: results")]
  },
)
