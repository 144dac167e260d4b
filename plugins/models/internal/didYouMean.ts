/** "Did you mean" suggestions by case-insensitive Levenshtein distance (as Kedro's pipeline errors). */

const distance = (a: string, b: string): number => {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] ?? 0
    prev[0] = i
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j] ?? 0
      const left = prev[j - 1] ?? 0
      prev[j] = Math.min(up + 1, left + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1))
      diag = up
    }
  }
  return prev[b.length] ?? 0
}

/** Up to `max` known names closest to `name`, within a third of its length. */
export const suggest = (name: string, known: ReadonlyArray<string>, max = 3): ReadonlyArray<string> => {
  const q = name.toLowerCase()
  const limit = Math.max(2, Math.ceil(q.length / 3))
  return known
    .map((k) => ({ k, d: k.toLowerCase().includes(q) && q.length >= 3 ? 0 : distance(q, k.toLowerCase()) }))
    .filter((x) => x.d <= limit)
    .sort((x, y) => x.d - y.d || x.k.localeCompare(y.k))
    .slice(0, max)
    .map((x) => x.k)
}
