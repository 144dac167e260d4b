/** The report's terminal summary and the joint-teacher table's run column: how runs and seeds read. */
import { describe, expect, it } from "vitest"
import { jointRun } from "../../../../plugins/stages/report/internal/document.ts"
import type { Table1Row, Table2Row } from "../../../../plugins/stages/report/internal/model.ts"
import { summaryText } from "../../../../plugins/stages/report/internal/summary.ts"

const row = (label: string, seeds: ReadonlyArray<number>, top1s: ReadonlyArray<number>): Table2Row => {
  const mean = top1s.reduce((a, b) => a + b, 0) / top1s.length
  const sd = top1s.length < 2 ? null : Math.sqrt(top1s.reduce((a, b) => a + (b - mean) ** 2, 0) / (top1s.length - 1))
  return {
    label, dataset: "fashion-mnist", nodes: [], models: [], protocols: ["head"], classes: [], runs: seeds.length, seeds,
    perSeed: [], top1: mean, top1Std: sd, knnTop1: 0.5, perClass: [], trainImages: [], testImages: [], trainingSeconds: 0, evalSeconds: 0,
    deltaPoints: label === "baseline" ? null : (mean - 0.6) * 100,
  }
}

describe("report summary", () => {
  it("names one seed as 'seed 0' and several as 'seeds 0, 1, 2', with mean ± sample sd", () => {
    const text = summaryText({
      table1: [], figure3: [], labels: ["baseline", "ours"],
      table2: { dataset: "fashion-mnist", baselineFound: true, rows: [row("baseline", [0], [0.6]), row("ours", [0, 1, 2], [0.61, 0.63, 0.65])] },
    })
    const lines = text.split("\n")
    expect(lines.find((l) => l.trimStart().startsWith("label"))).toMatch(/runs$/)
    expect(lines.find((l) => l.trimStart().startsWith("baseline"))).toMatch(/60\.00\s+—\s+50\.00\s+seed 0$/)
    // mean 63.00, sd of (61, 63, 65) = 2.00, Δ +3.00
    expect(lines.find((l) => l.trimStart().startsWith("ours"))).toMatch(/63\.00 ± 2\.00\s+\+3\.00\s+50\.00\s+seeds 0, 1, 2$/)
  })

  it("labels a teacher after joint training with its run, read from the node name", () => {
    const t = (node: string, teacher: string) => ({ node, teacher }) as Table1Row
    expect(jointRun(t("top1-ours-dino", "dino"))).toBe("ours")
    expect(jointRun(t("top1-ours-warm-mae", "mae"))).toBe("ours-warm")
    expect(jointRun(t("top1-ours-no-attn-dino-s2", "dino"))).toBe("ours-no-attn-s2")
  })
})
