/**
 * Peak resident memory while a stage runs: the process's RSS sampled every
 * `everyMs` (and once at the start and the end) from `process.memoryUsage.rss()`.
 * Pool workers are threads of this process, so the figure covers a pooled
 * stage too, and whatever else ran meanwhile (other stages, the executor):
 * with one stage at a time (`--workers 1`) it is that stage's peak plus the
 * process's baseline.
 */
import { Effect } from "effect"

/** Runs `effect` and measures the process's peak RSS meanwhile (bytes). */
export const withPeakRss = <A, E, R>(effect: Effect.Effect<A, E, R>, everyMs = 250): Effect.Effect<readonly [A, number], E, R> =>
  Effect.suspend(() => {
    let peak = process.memoryUsage.rss()
    const sample = () => {
      const rss = process.memoryUsage.rss()
      if (rss > peak) peak = rss
    }
    const timer = setInterval(sample, everyMs)
    timer.unref()
    const stop = Effect.sync(() => {
      clearInterval(timer)
      sample()
    })
    // The finalizer's last sample is taken before the peak is read.
    return effect.pipe(
      Effect.ensuring(stop),
      Effect.map((a) => [a, peak] as const),
    )
  })
