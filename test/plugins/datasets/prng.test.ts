import { describe, expect, it } from "vitest"
import { hashKeys, Rng } from "../../../plugins/datasets/prng.ts"

describe("Rng (xoshiro128** seeded by splitmix32)", () => {
  it("is deterministic per seed and per derived stream, and streams differ", () => {
    const a = Array.from({ length: 8 }, ((r) => () => r.nextU32())(Rng.seeded(42)))
    const b = Array.from({ length: 8 }, ((r) => () => r.nextU32())(Rng.seeded(42)))
    const c = Array.from({ length: 8 }, ((r) => () => r.nextU32())(Rng.seeded(43)))
    expect(a).toEqual(b)
    expect(a).not.toEqual(c)
    expect(Rng.derive(1, 2, 3).nextU32()).toBe(Rng.derive(1, 2, 3).nextU32())
    expect(Rng.derive(1, 2, 3).nextU32()).not.toBe(Rng.derive(1, 3, 2).nextU32())
    expect(hashKeys([2 ** 40])).not.toBe(hashKeys([0])) // keys beyond 32 bits count in full
  })

  it("matches an independent reference of xoshiro128** for a fixed state", () => {
    // Reference: Blackman & Vigna's C code (prng.di.unimi.it/xoshiro128starstar.c) transcribed to
    // Python with explicit 32-bit masks, from state [1, 2, 3, 4]: 11520, 0, 5927040, 70819200.
    const r = Rng.fromState([1, 2, 3, 4])
    expect([r.nextU32(), r.nextU32(), r.nextU32(), r.nextU32()]).toEqual([11520, 0, 5927040, 70819200])
  })

  it("float, int and normal have the right ranges and moments", () => {
    const r = Rng.seeded(7)
    const n = 100_000
    let sum = 0
    const counts = new Array(7).fill(0)
    let ns = 0
    let ns2 = 0
    for (let i = 0; i < n; i++) {
      const f = r.float()
      expect(f >= 0 && f < 1).toBe(true)
      sum += f
      counts[r.int(7)]++
      const z = r.normal()
      ns += z
      ns2 += z * z
    }
    expect(sum / n).toBeCloseTo(0.5, 2)
    for (const c of counts) expect(Math.abs(c - n / 7)).toBeLessThan(5 * Math.sqrt(n / 7))
    expect(ns / n).toBeCloseTo(0, 1)
    expect(ns2 / n).toBeCloseTo(1, 1)
    expect(() => r.int(0)).toThrow(RangeError)
  })

  it("shuffle is a permutation", () => {
    const xs = Rng.seeded(1).shuffle(Int32Array.from({ length: 100 }, (_, i) => i))
    expect(Array.from(xs).sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i))
    expect(Array.from(xs)).not.toEqual(Array.from({ length: 100 }, (_, i) => i))
  })
})
