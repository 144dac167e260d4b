/** Independent float64 references for the loss tests: plain loops over nested arrays. */

export const softmax64 = (z: ReadonlyArray<number>, t = 1): Array<number> => {
  const m = Math.max(...z.map((v) => v / t))
  const e = z.map((v) => Math.exp(v / t - m))
  const s = e.reduce((a, b) => a + b, 0)
  return e.map((v) => v / s)
}

/** KL(p || q) = Σ p log(p / q), 0 log 0 = 0. */
export const kl64 = (p: ReadonlyArray<number>, q: ReadonlyArray<number>): number =>
  p.reduce((acc, pi, i) => (pi === 0 ? acc : acc + pi * Math.log(pi / (q[i] ?? NaN))), 0)

/** mean over rows of KL(softmax(t/T) || softmax(s/T)), times T². */
export const softKl64 = (student: ReadonlyArray<ReadonlyArray<number>>, teacher: ReadonlyArray<ReadonlyArray<number>>, t = 1): number =>
  (t * t * student.reduce((acc, row, b) => acc + kl64(softmax64(teacher[b] ?? [], t), softmax64(row, t)), 0)) / student.length

/** mean over rows (all images, all queries) of KL(a[b][q] || s[b][q]) for maps [B][T][T]. */
export const rowKl64 = (a: ReadonlyArray<ReadonlyArray<ReadonlyArray<number>>>, s: ReadonlyArray<ReadonlyArray<ReadonlyArray<number>>>): number => {
  let sum = 0
  let n = 0
  a.forEach((img, b) => img.forEach((row, q) => {
    sum += kl64(row, s[b]?.[q] ?? [])
    n++
  }))
  return sum / n
}

/** -mean_b log softmax(z_b)[y_b]. */
export const ce64 = (logits: ReadonlyArray<ReadonlyArray<number>>, labels: ReadonlyArray<number>): number =>
  -logits.reduce((acc, row, b) => acc + Math.log(softmax64(row)[labels[b] ?? 0] ?? NaN), 0) / logits.length
