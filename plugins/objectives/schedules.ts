/**
 * DINO's schedules as pure functions of the step (facebookresearch/dino
 * `utils.cosine_scheduler` and `DINOLoss.teacher_temp_schedule`), with the
 * same numpy semantics, so a run resumed at step s sees the value the
 * reference sees at index s:
 *
 * - learning rate: linear warm-up from `startWarmupValue` to `base` over
 *   `warmupEpochs` (numpy `linspace`, both ends included), then a half-cosine
 *   from `base` towards `final`; DINO's base is `lr * batch / 256`, final 1e-6.
 * - teacher EMA momentum: cosine from 0.996 to 1 (Caron et al. 2021, sec. 3.1).
 * - weight decay: cosine from 0.04 to 0.4.
 * - teacher temperature, per epoch: `linspace(warmupTemp, temp, warmupEpochs)`,
 *   then `temp` (sec. 4 / appendix: 0.04 -> 0.07 over 30 epochs for ViT-S).
 *
 * The cosine part never reaches `final` inside the schedule: its last value
 * is at `cos(π (n-1)/n)`, exactly as the reference.
 */
import { InvalidObjectiveConfig, ScheduleOutOfRange } from "./errors.ts"

/** A schedule: its length in steps and the value at a step in `0 .. length-1`. */
export interface Schedule {
  readonly name: string
  readonly length: number
  /** Throws {@link ScheduleOutOfRange} outside `0 .. length-1`. */
  readonly at: (step: number) => number
}

export interface CosineScheduleOptions {
  readonly base: number
  readonly final: number
  readonly epochs: number
  readonly itersPerEpoch: number
  readonly warmupEpochs?: number
  readonly startWarmupValue?: number
}

const checkCount = (op: string, field: string, value: number, min: number): void => {
  if (!Number.isInteger(value) || value < min) throw new InvalidObjectiveConfig({ op, field, value, expected: `an integer >= ${min}` })
}

const checkStep = (s: Schedule, step: number): void => {
  if (!Number.isInteger(step) || step < 0 || step >= s.length) throw new ScheduleOutOfRange({ schedule: s.name, step, length: s.length })
}

/** numpy's `linspace(a, b, n)[i]`: `a` when n = 1. */
const linspaceAt = (a: number, b: number, n: number, i: number): number => (n === 1 ? a : a + ((b - a) * i) / (n - 1))

/** `utils.cosine_scheduler(base, final, epochs, niter_per_ep, warmup_epochs, start_warmup_value)`. */
export const cosineSchedule = (o: CosineScheduleOptions, name = "cosine"): Schedule => {
  const warmupEpochs = o.warmupEpochs ?? 0
  checkCount(name, "epochs", o.epochs, 1)
  checkCount(name, "itersPerEpoch", o.itersPerEpoch, 1)
  checkCount(name, "warmupEpochs", warmupEpochs, 0)
  if (warmupEpochs >= o.epochs) {
    throw new InvalidObjectiveConfig({ op: name, field: "warmupEpochs", value: warmupEpochs, expected: `fewer than epochs (${o.epochs})` })
  }
  const length = o.epochs * o.itersPerEpoch
  const warmup = warmupEpochs * o.itersPerEpoch
  const cosineSteps = length - warmup
  const s: Schedule = {
    name,
    length,
    at: (step) => {
      checkStep(s, step)
      if (step < warmup) return linspaceAt(o.startWarmupValue ?? 0, o.base, warmup, step)
      const j = step - warmup
      return o.final + 0.5 * (o.base - o.final) * (1 + Math.cos((Math.PI * j) / cosineSteps))
    },
  }
  return s
}

/** DINO's learning rate: base `lr * batchSize / 256` (linear scaling rule), warm-up from 0, cosine to `minLr`. */
export const dinoLrSchedule = (o: {
  readonly lr: number
  readonly batchSize: number
  readonly minLr?: number
  readonly epochs: number
  readonly itersPerEpoch: number
  readonly warmupEpochs?: number
}): Schedule =>
  cosineSchedule({
    base: (o.lr * o.batchSize) / 256,
    final: o.minLr ?? 1e-6,
    epochs: o.epochs,
    itersPerEpoch: o.itersPerEpoch,
    warmupEpochs: o.warmupEpochs ?? 10,
  }, "learning rate")

/** The teacher's EMA momentum per iteration: cosine from `base` (0.996) to 1. */
export const teacherMomentumSchedule = (o: { readonly base?: number; readonly epochs: number; readonly itersPerEpoch: number }): Schedule => {
  const base = o.base ?? 0.996
  if (!(base >= 0 && base <= 1)) throw new InvalidObjectiveConfig({ op: "teacher momentum", field: "base", value: base, expected: "a number in [0, 1]" })
  return cosineSchedule({ base, final: 1, epochs: o.epochs, itersPerEpoch: o.itersPerEpoch }, "teacher momentum")
}

/** The teacher temperature per epoch (`DINOLoss.teacher_temp_schedule`). */
export const teacherTempSchedule = (o: {
  readonly warmupTemp?: number
  readonly temp?: number
  readonly warmupEpochs?: number
  readonly epochs: number
}): Schedule => {
  const name = "teacher temperature"
  const warmupTemp = o.warmupTemp ?? 0.04
  const temp = o.temp ?? 0.04
  const warmup = o.warmupEpochs ?? 0
  for (const [field, value] of [["warmupTemp", warmupTemp], ["temp", temp]] as const) {
    if (!(Number.isFinite(value) && value > 0)) throw new InvalidObjectiveConfig({ op: name, field, value, expected: "a finite number > 0" })
  }
  checkCount(name, "epochs", o.epochs, 1)
  checkCount(name, "warmupEpochs", warmup, 0)
  if (warmup > o.epochs) throw new InvalidObjectiveConfig({ op: name, field: "warmupEpochs", value: warmup, expected: `at most epochs (${o.epochs})` })
  const s: Schedule = {
    name,
    length: o.epochs,
    at: (epoch) => {
      checkStep(s, epoch)
      return epoch < warmup ? linspaceAt(warmupTemp, temp, warmup, epoch) : temp
    },
  }
  return s
}
