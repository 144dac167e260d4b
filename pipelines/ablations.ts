/**
 * Ablations of the paper's method (sec. 3.4): the weight l1 between the two
 * teachers' outputs (eq. 1), the weight l2 between their attention maps
 * (eq. 3), and the teacher head eq. 3 distils: chosen by Attention
 * Confidence (eq. 2) or drawn at random. Every variant is the `ours`
 * student of `paper.ts` with one setting changed (the default variant IS
 * `ours`: same config, same cache entry), evaluated on the same downstream
 * datasets; the teachers, their adaptation and the AC selection are shared.
 *
 *   ssl-kd run pipelines/ablations.ts --preset smoke|demo|fmnist|imagenet
 */
import { Pipeline } from "../dsl/index.ts"
import { jointDistill } from "../plugins/stages/paper/distill.ts"
import { acNodes, adaptationNodes, evaluationNode, paperFamily, reportNode, studentNode, studentNodes, teacherNodes } from "./parts.ts"

/** Variant name -> the joint-distill settings it changes. */
const variants = {
  "l1-0": { lambda1: 0 },
  "l1-1": { lambda1: 1 },
  "l2-half": { lambda2: 0.5 },
  "l2-1": { lambda2: 1 },
  "random-head": { lambda2: 0.5, headChoice: "random" },
} as const

export default paperFamily(
  "ablations",
  "Ablations of eq. 4: lambda1 (output KD balance), lambda2 (attention KD balance), AC-selected vs random teacher head",
  (s) => {
    const nodes = [
      ...teacherNodes(s),
      ...adaptationNodes(s, ["partial-1"]),
      ...acNodes(s),
      ...studentNodes(s, ["ours"]),
      ...s.seeds.flatMap((seed) =>
        Object.entries(variants).flatMap(([variant, change]) => {
          const name = studentNode(s, `ours` as const, seed).replace(/^ours/, `ours-${variant}`)
          return [
            Pipeline.node(name, jointDistill, {
              inputs: { cl: "dino-partial-1", mim: "mae-partial-1", clHeads: "ac-dino", mimHeads: "ac-mae" },
              config: { ...s.student, seed, ...change },
            }),
            evaluationNode(s, `eval-${name}`, name, `ours (${variant})`),
          ]
        }),
      ),
    ]
    return [...nodes, reportNode(s, nodes, "Ablations of the joint distillation (eq. 4)")]
  },
)
