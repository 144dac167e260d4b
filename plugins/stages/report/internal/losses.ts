/**
 * Loss curves (issue 12, part 6): the total training loss of each SSL
 * teacher's pretraining and of each student, per step as the training
 * stages record it (`info.losses.steps`, `distillation.losses.steps`),
 * averaged over buckets of consecutive steps so that a curve has at most
 * `MAX_POINTS` points. Students are drawn for the first seed of the main
 * arms (node names without `-s<seed>`, labels without `x-`); the others are
 * counted, not drawn.
 */
import type { LineChart } from "../../../analysis/plot.ts"

/** Most points per drawn curve. */
export const MAX_POINTS = 100

export interface LossCurve {
  readonly node: string
  readonly name: string
  readonly steps: number
  /** Steps per bucket. */
  readonly bucket: number
  /** Mean loss per bucket. */
  readonly values: ReadonlyArray<number>
  readonly epochs: ReadonlyArray<number>
}

export interface LossCurves {
  readonly teachers: ReadonlyArray<LossCurve>
  readonly students: ReadonlyArray<LossCurve>
  /** Student runs not drawn (further seeds, exploratory arms). */
  readonly studentsNotDrawn: number
}

/** Means of consecutive buckets of ceil(n / maxPoints) steps (the last bucket may be shorter); finite values only. */
export const bucketMeans = (xs: ReadonlyArray<number>, maxPoints = MAX_POINTS): { readonly bucket: number; readonly values: ReadonlyArray<number> } => {
  const finite = xs.filter((x) => Number.isFinite(x))
  const bucket = Math.max(1, Math.ceil(finite.length / maxPoints))
  const values: Array<number> = []
  for (let i = 0; i < finite.length; i += bucket) {
    const part = finite.slice(i, i + bucket)
    values.push(part.reduce((a, b) => a + b, 0) / part.length)
  }
  return { bucket, values }
}

const curve = (node: string, name: string, losses: { readonly steps: ReadonlyArray<number>; readonly epochs: ReadonlyArray<number> }): LossCurve => ({
  node,
  name,
  steps: losses.steps.length,
  ...bucketMeans(losses.steps),
  epochs: losses.epochs,
})

/** The curves from the gathered training artifacts' records. */
export const lossCurves = (
  teachers: ReadonlyArray<{ readonly item: string; readonly value: { readonly info: { readonly teacher: string; readonly losses: { readonly steps: ReadonlyArray<number>; readonly epochs: ReadonlyArray<number> } } } }>,
  students: ReadonlyArray<{ readonly item: string; readonly value: { readonly distillation: { readonly method: string; readonly seed: number; readonly losses: { readonly steps: ReadonlyArray<number>; readonly epochs: ReadonlyArray<number> } } } }>,
): LossCurves => {
  const drawn = students.filter((s) => !/-s\d+$/.test(s.item) && !s.item.startsWith("x-"))
  return {
    teachers: teachers.filter((t) => t.value.info.losses.steps.length > 0).map((t) => curve(t.item, t.item === t.value.info.teacher ? t.item : `${t.item}: ${t.value.info.teacher}`, t.value.info.losses)),
    students: drawn.filter((s) => s.value.distillation.losses.steps.length > 0).map((s) => curve(s.item, `${s.item} (${s.value.distillation.method}, seed ${s.value.distillation.seed})`, s.value.distillation.losses)),
    studentsNotDrawn: students.length - drawn.length,
  }
}

/** A loss chart; x counts buckets of `bucket` steps (the largest bucket of its curves). */
export const lossChart = (title: string, curves: ReadonlyArray<LossCurve>): LineChart => {
  const bucket = Math.max(1, ...curves.map((c) => c.bucket))
  return {
    title,
    xLabel: bucket === 1 ? "training step" : `training step (buckets of up to ${bucket} steps)`,
    yLabel: "total loss (mean)",
    series: curves.map((c) => ({ name: `${c.name}: last ${c.values.at(-1)?.toFixed(4) ?? "—"}`, values: c.values })),
  }
}
