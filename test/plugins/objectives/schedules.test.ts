/**
 * DINO's schedules at known points, computed by hand from numpy's
 * `linspace` and `utils.cosine_scheduler`: start, end of warm-up, first
 * cosine step, the last step, and out-of-range steps.
 */
import { describe, expect, it } from "vitest"
import {
  cosineSchedule,
  dinoLrSchedule,
  InvalidObjectiveConfig,
  ScheduleOutOfRange,
  teacherMomentumSchedule,
  teacherTempSchedule,
} from "../../../plugins/objectives/index.ts"

describe("cosineSchedule (utils.cosine_scheduler)", () => {
  // base 1, final 0, 3 epochs x 4 iterations, 1 warm-up epoch from 0.2:
  // warm-up = linspace(0.2, 1, 4) = 0.2, 0.4667, 0.7333, 1; then 8 cosine steps 0.5(1 + cos(πj/8)).
  const s = cosineSchedule({ base: 1, final: 0, epochs: 3, itersPerEpoch: 4, warmupEpochs: 1, startWarmupValue: 0.2 })

  it("covers epochs x itersPerEpoch steps", () => expect(s.length).toBe(12))
  it("starts at the warm-up start value", () => expect(s.at(0)).toBeCloseTo(0.2, 12))
  it("rises linearly, reaching base at the last warm-up step (linspace includes its end)", () => {
    expect(s.at(1)).toBeCloseTo(0.2 + 0.8 / 3, 12)
    expect(s.at(3)).toBeCloseTo(1, 12)
  })
  it("starts the cosine at base, passes (base+final)/2 halfway", () => {
    expect(s.at(4)).toBeCloseTo(1, 12)
    expect(s.at(8)).toBeCloseTo(0.5, 12)
  })
  it("ends at final + ½(base - final)(1 + cos(7π/8)), just above final", () => {
    expect(s.at(11)).toBeCloseTo(0.5 * (1 + Math.cos((7 * Math.PI) / 8)), 12)
    expect(s.at(11)).toBeGreaterThan(0)
  })
  it("refuses steps outside the schedule", () => {
    expect(() => s.at(12)).toThrowError(ScheduleOutOfRange)
    expect(() => s.at(-1)).toThrowError(/step -1 is outside 0..11/)
    expect(() => s.at(1.5)).toThrowError(ScheduleOutOfRange)
  })
  it("refuses a warm-up as long as the run", () => {
    expect(() => cosineSchedule({ base: 1, final: 0, epochs: 2, itersPerEpoch: 3, warmupEpochs: 2 })).toThrowError(InvalidObjectiveConfig)
  })
})

describe("DINO's concrete schedules", () => {
  it("learning rate: base lr·batch/256 after warm-up from 0, towards minLr", () => {
    const lr = dinoLrSchedule({ lr: 5e-4, batchSize: 512, epochs: 100, itersPerEpoch: 10, warmupEpochs: 10 })
    expect(lr.at(0)).toBe(0)
    expect(lr.at(99)).toBeCloseTo(1e-3, 15)
    expect(lr.at(100)).toBeCloseTo(1e-3, 15)
    expect(lr.at(999)).toBeCloseTo(1e-6 + 0.5 * (1e-3 - 1e-6) * (1 + Math.cos((Math.PI * 899) / 900)), 15)
  })

  it("teacher momentum: 0.996 at the start, 0.998 halfway, near 1 at the end", () => {
    const m = teacherMomentumSchedule({ epochs: 10, itersPerEpoch: 10 })
    expect(m.at(0)).toBeCloseTo(0.996, 15)
    expect(m.at(50)).toBeCloseTo(0.998, 15)
    expect(m.at(99)).toBeCloseTo(1 - 0.002 * (1 + Math.cos((Math.PI * 99) / 100)), 15)
    expect(m.at(99)).toBeGreaterThan(0.99999)
  })

  it("teacher temperature: linspace(0.04, 0.07, 30) over the warm-up, then 0.07", () => {
    const t = teacherTempSchedule({ warmupTemp: 0.04, temp: 0.07, warmupEpochs: 30, epochs: 100 })
    expect(t.at(0)).toBeCloseTo(0.04, 15)
    expect(t.at(1)).toBeCloseTo(0.04 + 0.03 / 29, 15)
    expect(t.at(29)).toBeCloseTo(0.07, 15)
    expect(t.at(30)).toBe(0.07)
    expect(t.at(99)).toBe(0.07)
    expect(() => t.at(100)).toThrowError(/teacher temperature schedule: step 100 is outside 0..99/)
    expect(teacherTempSchedule({ epochs: 5 }).at(0)).toBe(0.04)
    expect(() => teacherTempSchedule({ epochs: 5, temp: 0 })).toThrowError(/temp = 0 is invalid; expected a finite number > 0/)
  })
})
