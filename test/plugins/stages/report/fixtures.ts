/**
 * Hand-made inputs of `paper/report`: small fake values whose table entries
 * are easy to compute by hand.
 */
import type { ReportInputs } from "../../../../plugins/stages/report/report.ts"
import type { DownstreamScoreValue } from "../../../../plugins/stages/paper/scores.ts"

const classes = ["t-shirt", "trouser", "bag"]

export const score = (over: Partial<DownstreamScoreValue> & Pick<DownstreamScoreValue, "label" | "top1">): DownstreamScoreValue => ({
  model: `vitMicroPatch7_28 ${over.label}`,
  dataset: "fashion-mnist",
  classes,
  protocol: "head",
  perClass: [over.top1, over.top1, over.top1],
  knnTop1: 0.5,
  trainImages: 3000,
  testImages: 1000,
  seed: 0,
  trainingSeconds: 120,
  seconds: 4,
  ...over,
})

/** Table 2 (fashion-mnist, head): baseline 80.00, kd-dino 81.25, kd-mae 79.50, ours mean of 83.00 and 84.00 (seeds 0, 1). */
export const inputs: ReportInputs = {
  adaptation: [
    { item: "top1-mae-full", value: { teacher: "mae", family: "masked-image-modeling", mode: "full", trainable: 27_978, total: 27_978, dataset: "fashion-mnist", testImages: 1000, top1: 0.812, trainTop1: 0.9, seed: 0, adaptationSeconds: 12.5 } },
    { item: "top1-dino-partial-1", value: { teacher: "dino", family: "contrastive", mode: "partial-1", trainable: 13_098, total: 27_978, dataset: "fashion-mnist", testImages: 1000, top1: 0.7725, trainTop1: 0.8, seed: 0, adaptationSeconds: 12.5 } },
    { item: "top1-dino-linear", value: { teacher: "dino", family: "contrastive", mode: "linear", trainable: 970, total: 27_978, dataset: "fashion-mnist", testImages: 1000, top1: 0.6, trainTop1: 0.61, seed: 0, adaptationSeconds: 12.5 } },
  ],
  scores: [
    { item: "eval-ours-s1", value: score({ label: "ours", top1: 0.84, seed: 1, perClass: [0.9, 0.8, 0.82], trainingSeconds: 200, seconds: 6 }) },
    { item: "eval-kd-mae", value: score({ label: "kd-mae", top1: 0.795 }) },
    { item: "eval-baseline", value: score({ label: "baseline", top1: 0.8, perClass: [0.7, 0.9, 0.8] }) },
    { item: "eval-ours-s0", value: score({ label: "ours", top1: 0.83, seed: 0, perClass: [0.8, 0.8, 0.89], trainingSeconds: 100, seconds: 2 }) },
    { item: "eval-kd-dino", value: score({ label: "kd-dino", top1: 0.8125 }) },
    { item: "eval-baseline-cifar", value: score({ label: "baseline", dataset: "cifar-10", protocol: "linear-probe", top1: 0.4, trainImages: 5000, testImages: 2000, classes: ["a", "b"], perClass: [0.4, 0.4] }) },
    { item: "eval-ours-cifar", value: score({ label: "ours", dataset: "cifar-10", protocol: "linear-probe", top1: 0.45, trainImages: 5000, testImages: 2000, classes: ["a", "b"], perClass: [0.5, 0.4] }) },
  ],
  attention: [
    { item: "attn-mae", value: { teacher: "mae", family: "masked-image-modeling", patchSize: 7, layers: [0, 1, 2, 3], perHead: [[1], [2], [3], [4]], mean: [10, 11, 9, 8], images: 256 } },
    { item: "attn-dino", value: { teacher: "dino", family: "contrastive", patchSize: 7, layers: [0, 1, 2, 3], perHead: [[1], [2], [3], [4]], mean: [10, 12, 14, 16], images: 256 } },
  ],
  heads: [
    { item: "ac-mae", value: { teacher: "mae", layer: 3, perHead: [0.25, 0.5, 0.125], best: 1, images: 256, queries: "all", dataset: "fashion-mnist" } },
    { item: "ac-dino", value: { teacher: "dino", layer: 3, perHead: [0.75, 0.5, 0.625], best: 0, images: 256, queries: "all", dataset: "fashion-mnist" } },
  ],
}

export const empty: ReportInputs = { adaptation: [], scores: [], attention: [], heads: [] }
