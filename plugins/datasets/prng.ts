/**
 * A small seeded PRNG for everything random in the data path (shuffles,
 * augmentation, masking, synthetic images): xoshiro128** (Blackman & Vigna,
 * 2018) seeded through splitmix32. Never `Math.random`.
 *
 * Streams are derived, not advanced: `Rng.derive(seed, epoch, index)` gives
 * the same generator for the same keys whatever order samples are produced
 * in, so prefetching or changing the batch size never changes an image's
 * augmentation.
 *
 * @example
 * const rng = Rng.derive(42, epoch, sampleIndex)
 * const flip = rng.float() < 0.5
 */

/** splitmix32 finalizer: a bijective 32-bit mix. */
const mix32 = (x: number): number => {
  let z = (x + 0x9e3779b9) | 0
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
  return (z ^ (z >>> 16)) >>> 0
}

/** Folds integer keys into one 32-bit seed; any key change changes the result. */
export const hashKeys = (keys: ReadonlyArray<number>): number => {
  let h = 0x243f6a88
  for (const k of keys) {
    // Split keys beyond 32 bits so large indices or seeds still count in full.
    const lo = k >>> 0
    const hi = Math.floor(k / 4294967296) >>> 0
    h = mix32(h ^ lo)
    h = mix32(h ^ hi ^ 0x5bd1e995)
  }
  return h
}

const rotl = (x: number, k: number): number => (x << k) | (x >>> (32 - k))

/** xoshiro128** generator with a 128-bit state. */
export class Rng {
  private s0: number
  private s1: number
  private s2: number
  private s3: number

  private constructor(seed: number) {
    let x = seed >>> 0
    const next = () => {
      x = (x + 0x9e3779b9) >>> 0
      return mix32(x)
    }
    this.s0 = next() | 0
    this.s1 = next() | 0
    this.s2 = next() | 0
    this.s3 = next() | 0
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1
  }

  /** A generator with an explicit 128-bit state (four u32 words, not all zero); for reference tests. */
  static fromState(state: readonly [number, number, number, number]): Rng {
    const r = new Rng(0)
    ;[r.s0, r.s1, r.s2, r.s3] = state.map((w) => w | 0) as [number, number, number, number]
    return r
  }

  /** A generator from one integer seed. */
  static seeded(seed: number): Rng {
    return new Rng(hashKeys([seed]))
  }

  /** A generator for a stream named by integer keys, e.g. (seed, epoch, index). */
  static derive(...keys: ReadonlyArray<number>): Rng {
    return new Rng(hashKeys(keys))
  }

  /** The next 32 random bits as an unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9)
    const t = this.s1 << 9
    this.s2 ^= this.s0
    this.s3 ^= this.s1
    this.s1 ^= this.s2
    this.s0 ^= this.s3
    this.s2 ^= t
    this.s3 = rotl(this.s3, 11)
    return result >>> 0
  }

  /** A float uniform in [0, 1) with 32 bits of resolution. */
  float(): number {
    return this.nextU32() / 4294967296
  }

  /** A float uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.float()
  }

  /** An integer uniform in [0, n), unbiased (rejection sampling); n in 1..2^32. */
  int(n: number): number {
    if (!(n >= 1 && n <= 4294967296 && Number.isInteger(n))) throw new RangeError(`Rng.int: n must be an integer in 1..2^32, got ${n}`)
    const limit = 4294967296 - (4294967296 % n)
    for (;;) {
      const x = this.nextU32()
      if (x < limit) return x % n
    }
  }

  /** A standard normal sample (Box-Muller). */
  normal(): number {
    const u = 1 - this.float()
    const v = this.float()
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
  }

  /** Shuffles `xs` in place (Fisher-Yates) and returns it. */
  shuffle<A extends { [i: number]: number; length: number }>(xs: A): A {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(i + 1)
      const t = xs[i] as number
      xs[i] = xs[j] as number
      xs[j] = t
    }
    return xs
  }
}
