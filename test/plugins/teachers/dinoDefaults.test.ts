/**
 * DINO's reference defaults as the stage applies them (`main_dino.py`, issue
 * 11): teacher temperature warm-up 0.04 -> 0.07 (linear per epoch, then
 * constant), teacher momentum 0.996 -> 1 (cosine per iteration), checked at a
 * few steps for the stage's defaults and for the `repro` preset of
 * `pipelines/teachers.ts`.
 */
import { Schema } from "effect"
import { describe, expect, it } from "vitest"
import teachers, { reproDino } from "../../../pipelines/teachers.ts"
import { DinoPretrainConfig } from "../../../plugins/teachers/dino/config.ts"
import { dinoSchedules } from "../../../plugins/teachers/dino/step.ts"

const decode = Schema.decodeUnknownSync(DinoPretrainConfig)

describe("DINO stage schedules", () => {
  it("defaults: τ_t 0.04 -> 0.07 over 30 epochs (clamped to a shorter run), momentum from 0.996", () => {
    const c = decode({})
    expect([c.warmupTeacherTemp, c.teacherTemp, c.warmupTeacherTempEpochs, c.momentumTeacher, c.studentTemp]).toEqual([0.04, 0.07, 30, 0.996, 0.1])
    const s = dinoSchedules(c, 10) // default 10 epochs: the warm-up spans them all
    expect(s.teacherTemp.at(0)).toBeCloseTo(0.04, 12)
    expect(s.teacherTemp.at(9)).toBeCloseTo(0.07, 12)
    expect(s.teacherTemp.at(3)).toBeCloseTo(0.04 + (0.03 * 3) / 9, 12)
    const long = dinoSchedules(decode({ epochs: 100 }), 1)
    expect(long.teacherTemp.at(29)).toBeCloseTo(0.07, 12)
    expect(long.teacherTemp.at(15)).toBeCloseTo(0.04 + (0.03 * 15) / 29, 12)
    expect(long.teacherTemp.at(99)).toBe(0.07)
  })

  it("repro preset: τ_t 0.04 in epoch 0, 0.07 in epoch 1; momentum cosine 0.996 -> 1 over every step", () => {
    expect(teachers.presets["repro"]?.["dino"]).toEqual(reproDino)
    const c = decode(reproDino)
    const iters = 468 // 60000 images / batch 128, last partial batch dropped
    const s = dinoSchedules(c, iters)
    expect(c.epochs).toBe(2)
    expect([0, 1].map((e) => s.teacherTemp.at(e))).toEqual([0.04, 0.07].map((x) => expect.closeTo(x, 12)))
    // The same warm-up over a longer run: linspace(0.04, 0.07, 3), then 0.07.
    const longer = dinoSchedules(decode({ ...reproDino, epochs: 8, warmupTeacherTempEpochs: 3 }), iters)
    expect([0, 1, 2, 3, 7].map((e) => longer.teacherTemp.at(e))).toEqual([0.04, 0.055, 0.07, 0.07, 0.07].map((x) => expect.closeTo(x, 12)))
    const n = c.epochs * iters
    expect(s.momentum.at(0)).toBeCloseTo(0.996, 12)
    expect(s.momentum.at(n / 2)).toBeCloseTo(0.998, 12)
    expect(s.momentum.at(n - 1)).toBeCloseTo(1 - 0.002 * (1 + Math.cos((Math.PI * (n - 1)) / n)), 12)
    expect(s.momentum.at(n - 1)).toBeGreaterThan(0.99999)
    expect(c.outDim).toBe(4096)
    expect([c.localCrops, c.localSize]).toEqual([6, 12])
  })
})
