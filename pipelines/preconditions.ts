/**
 * The paper's preconditions at a scale, before any student trains: the SSL
 * teachers against a random-init ViT by k-NN (gate 1), each teacher adapted
 * by linear evaluation, Partial-1 and fine-tuning (Table 1, gate 2, claim
 * a), attention distance per layer (Figure 1, claim e) and the eq. 2 head
 * tables on the pretrained and Partial-1 teachers. Its nodes are those of
 * `paper.ts` at the same scale (same names, configs, cache entries), so a
 * passing check is reused by the full run, and a failing one costs the
 * teachers' hours, not the students' too. The report's gate 3 and claims b,
 * c, d are "not tested" here: they need students.
 *
 *   ssl-kd run pipelines/preconditions.ts --preset repro    # then paper.ts --preset repro reuses it all
 *   ssl-kd run pipelines/preconditions.ts --preset smoke|demo|fmnist|imagenet
 */
import { paperFamily, reportNode, teacherSideNodes } from "./parts.ts"

export default paperFamily(
  "preconditions",
  "The paper's preconditions without students: SSL teachers vs random init (k-NN), Table 1 (linear / Partial-1 / fine-tuning), Figure 1, eq. 2 heads",
  (s) => {
    const nodes = teacherSideNodes(s)
    return [...nodes, reportNode(s, nodes, "Preconditions of the paper: teachers, adaptation and attention, before the students")]
  },
)
