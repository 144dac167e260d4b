/**
 * Independent float64 references for the objective tests, written from the
 * papers' formulas with plain loops (no tfjs), and a float64 central
 * finite-difference gradient of them.
 */

export type Matrix = Array<Array<number>>

export const logSoftmaxRow = (row: ReadonlyArray<number>): Array<number> => {
  const m = Math.max(...row)
  const lse = m + Math.log(row.reduce((s, x) => s + Math.exp(x - m), 0))
  return row.map((x) => x - lse)
}

/** DINO: student rows [V*B][K], teacher rows [T*B][K], view-major. */
export const dinoLossRef = (
  student: Matrix,
  teacher: Matrix,
  center: ReadonlyArray<number>,
  views: number,
  teacherViews: number,
  teacherTemp: number,
  studentTemp = 0.1,
): number => {
  const b = student.length / views
  let total = 0
  let terms = 0
  for (let i = 0; i < teacherViews; i++) {
    for (let j = 0; j < views; j++) {
      if (i === j) continue
      let sum = 0
      for (let r = 0; r < b; r++) {
        const q = logSoftmaxRow((teacher[i * b + r] ?? []).map((x, c) => (x - (center[c] ?? 0)) / teacherTemp)).map(Math.exp)
        const lp = logSoftmaxRow((student[j * b + r] ?? []).map((x) => x / studentTemp))
        sum += -q.reduce((s, qk, c) => s + qk * (lp[c] ?? 0), 0)
      }
      total += sum / b
      terms++
    }
  }
  return total / terms
}

/** MAE's patchify, from its einsum definition: out[n][hi*w+wi][(pi*p+qi)*C+c] = img[n][c][hi*p+pi][wi*p+qi]. */
export const patchifyRef = (img: Float64Array | Float32Array, [n, c, hh, ww]: ReadonlyArray<number>, p: number): Float64Array => {
  const [N = 0, C = 0, H = 0, W = 0] = [n, c, hh, ww]
  const h = H / p
  const w = W / p
  const d = p * p * C
  const out = new Float64Array(N * h * w * d)
  for (let a = 0; a < N; a++) for (let hi = 0; hi < h; hi++) for (let wi = 0; wi < w; wi++) {
    for (let pi = 0; pi < p; pi++) for (let qi = 0; qi < p; qi++) for (let ci = 0; ci < C; ci++) {
      out[((a * h * w) + hi * w + wi) * d + (pi * p + qi) * C + ci] = img[((a * C + ci) * H + hi * p + pi) * W + wi * p + qi] ?? NaN
    }
  }
  return out
}

/** MAE loss on patchified targets [N][L][D], with torch's unbiased per-patch variance when normPix. */
export const maeLossRef = (target: Float64Array, pred: ArrayLike<number>, mask: ArrayLike<number>, n: number, l: number, d: number, normPix: boolean): number => {
  let num = 0
  let den = 0
  for (let a = 0; a < n * l; a++) {
    const t = Array.from(target.subarray(a * d, a * d + d))
    let tt = t
    if (normPix) {
      const mean = t.reduce((s, x) => s + x, 0) / d
      const v = t.reduce((s, x) => s + (x - mean) ** 2, 0) / (d - 1)
      tt = t.map((x) => (x - mean) / Math.sqrt(v + 1e-6))
    }
    let e = 0
    for (let j = 0; j < d; j++) e += ((pred[a * d + j] ?? 0) - (tt[j] ?? 0)) ** 2
    num += (e / d) * (mask[a] ?? 0)
    den += mask[a] ?? 0
  }
  return num / den
}

/** d f / d x by float64 central differences. */
export const numericGrad64 = (f: (x: Float64Array) => number, x: ArrayLike<number>, h = 1e-6): Float64Array => {
  const base = Float64Array.from(x)
  return base.map((_, i) => {
    const plus = Float64Array.from(base)
    const minus = Float64Array.from(base)
    plus[i] = (plus[i] ?? 0) + h
    minus[i] = (minus[i] ?? 0) - h
    return (f(plus) - f(minus)) / (2 * h)
  })
}

/** Rows of a flat array. */
export const rows = (flat: ArrayLike<number>, r: number, c: number): Matrix =>
  Array.from({ length: r }, (_, i) => Array.from({ length: c }, (_, j) => flat[i * c + j] ?? NaN))

/** max |a - b| / max(1, max |b|). */
export const relError = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let scale = 1
  let worst = 0
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i] ?? 0))
  for (let i = 0; i < Math.max(a.length, b.length); i++) worst = Math.max(worst, Math.abs((a[i] ?? NaN) - (b[i] ?? NaN)))
  return worst / scale
}

/** Seeded uniform(-1, 1) values (mulberry32), independent of tfjs's RNG. */
export const seeded = (n: number, seed: number, scale = 1): Float32Array => {
  let s = seed >>> 0
  return Float32Array.from({ length: n }, () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return scale * ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1)
  })
}
