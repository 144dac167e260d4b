/** Loss curves: bucket means by hand, which students are drawn, and the chart. */
import { expect, it } from "vitest"
import { lineChartSvg } from "../../../../plugins/analysis/plot.ts"
import { bucketMeans, lossChart, lossCurves } from "../../../../plugins/stages/report/internal/losses.ts"

it("averages consecutive buckets so that a curve has at most maxPoints points", () => {
  // 7 steps, at most 3 points: buckets of ceil(7/3) = 3 steps: (1+2+3)/3, (4+5+6)/3, 7.
  expect(bucketMeans([1, 2, 3, 4, 5, 6, 7], 3)).toEqual({ bucket: 3, values: [2, 5, 7] })
  expect(bucketMeans([4, Number.NaN, 2], 10)).toEqual({ bucket: 1, values: [4, 2] })
  expect(bucketMeans([], 10)).toEqual({ bucket: 1, values: [] })
})

it("draws the pretraining curves and the students' first seeds of the main arms", () => {
  const losses = (steps: ReadonlyArray<number>) => ({ steps, epochs: [steps.reduce((a, b) => a + b, 0) / Math.max(1, steps.length)] })
  const student = (item: string, seed: number) => ({ item, value: { distillation: { method: "joint", seed, losses: losses([3, 2, 1]) } } })
  const c = lossCurves(
    [
      { item: "dino", value: { info: { teacher: "DINO ViT", losses: losses(Array.from({ length: 250 }, (_, i) => 10 - i / 25)) } } },
      { item: "random", value: { info: { teacher: "random init", losses: losses([]) } } },
    ],
    [student("ours", 0), student("ours-s1", 1), student("x-lambda2-0", 0), student("baseline", 0)],
  )
  expect(c.teachers.map((t) => [t.node, t.steps, t.bucket, t.values.length])).toEqual([["dino", 250, 3, 84]])
  expect(c.students.map((s) => s.name)).toEqual(["ours (joint, seed 0)", "baseline (joint, seed 0)"])
  expect(c.studentsNotDrawn).toBe(2)
  const svg = lineChartSvg(lossChart("T", c.teachers))
  expect(svg).toContain(">training step (buckets of up to 3 steps)</text>")
  // The last bucket holds step 250 alone: 10 - 249 / 25 = 0.04.
  expect(svg).toContain(">dino: DINO ViT: last 0.0400</text>")
  // At most about 12 x labels for 84 points: every 7th.
  expect(svg.match(/text-anchor="middle">\d+<\/text>/g)?.length).toBe(12)
})
