/**
 * Progress display per stage, proportional to news. On a TTY: one live line
 * per running stage with a bar and an ETA, redrawn in place. Elsewhere (CI
 * logs, pipes): plain lines when a stage starts, its first progress update,
 * then at most one line per stage every {@link PLAIN_MIN_GAP_MS} (and only
 * when another tenth is done, or {@link PLAIN_MAX_GAP_MS} passed), and when
 * it ends. A finished stage's line carries the overall count, `stage k/N` of
 * the N stages that run. Stages served from the cache print nothing unless
 * `verbose` (the run's summary counts them).
 *
 * ETAs are smoothed: the rate is an exponential moving average of the rates
 * measured over windows of at least 2 s, from the first progress update on
 * (so model building and warm-up before the first step do not inflate it).
 * Everything goes to stderr so `--json` output on stdout stays clean.
 */
import { Context, Effect, Layer } from "effect"
import type { Progress as StageProgress } from "../../dsl/StageContext.ts"

export type FinalStatus = "ran" | "cached" | "failed"

export interface ProgressShape {
  /** The run is about to start `toRun` stages (the `N` of `stage k/N`). */
  readonly begin?: (toRun: number) => Effect.Effect<void>
  readonly started: (node: string, detail: string) => Effect.Effect<void>
  readonly progress: (node: string, p: StageProgress) => Effect.Effect<void>
  readonly log: (node: string, message: string) => Effect.Effect<void>
  readonly finished: (node: string, status: FinalStatus, millis: number, detail?: string) => Effect.Effect<void>
  /** Erase any live display (before the final summary is printed). */
  readonly close: Effect.Effect<void>
}

export class ProgressDisplay extends Context.Service<ProgressDisplay, ProgressShape>()("ssl-kd/ProgressDisplay") {}

export const formatDuration = (ms: number): string => {
  if (!Number.isFinite(ms) || ms < 0) return "?"
  if (ms < 1000) return `${Math.round(ms)}ms`
  const s = ms / 1000
  if (s < 60) return `${s.toFixed(1)}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m${String(Math.round(s % 60)).padStart(2, "0")}s`
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`
}

/** Plain lines: the least time between two progress lines of one stage, and the most. */
export const PLAIN_MIN_GAP_MS = 5_000
export const PLAIN_MAX_GAP_MS = 30_000
const RATE_WINDOW_MS = 2_000
const RATE_SMOOTHING = 0.3

interface Live {
  readonly startedAt: number
  last: StageProgress | undefined
  lastLineAt: number
  /** Last tenth of progress printed (plain lines). */
  lastFraction: number
  /** Start of the current rate window (first progress update, then each window's end). */
  sample: { readonly t: number; readonly done: number } | undefined
  first: { readonly t: number; readonly done: number } | undefined
  /** Smoothed units per ms. */
  rate: number | undefined
}

const newLive = (t: number): Live => ({ startedAt: t, last: undefined, lastLineAt: t, lastFraction: 0, sample: undefined, first: undefined, rate: undefined })

/** Fold one progress update into the stage's rate estimate. */
const observe = (l: Live, p: StageProgress, t: number): void => {
  l.last = p
  if (l.sample === undefined || l.first === undefined) {
    l.sample = { t, done: p.done }
    l.first = { t, done: p.done }
    return
  }
  if (t - l.sample.t >= RATE_WINDOW_MS && p.done > l.sample.done) {
    const inst = (p.done - l.sample.done) / (t - l.sample.t)
    l.rate = l.rate === undefined ? inst : RATE_SMOOTHING * inst + (1 - RATE_SMOOTHING) * l.rate
    l.sample = { t, done: p.done }
  }
}

/** Remaining time from the smoothed rate; before a full window, from the rate since the first update. */
export const eta = (l: Live, p: StageProgress, now: number): string => {
  if (p.total <= 0 || p.done >= p.total) return p.done >= p.total && p.total > 0 ? "eta 0s" : "eta ?"
  let rate = l.rate
  if (rate === undefined && l.first !== undefined && p.done > l.first.done && now > l.first.t) rate = (p.done - l.first.done) / (now - l.first.t)
  if (rate === undefined || rate <= 0) return "eta ?"
  return `eta ${formatDuration((p.total - p.done) / rate)}`
}

const bar = (fraction: number, width: number): string => {
  const f = Math.max(0, Math.min(1, fraction))
  const full = Math.round(f * width)
  return `[${"#".repeat(full)}${"-".repeat(width - full)}]`
}

const symbol: Record<FinalStatus, string> = { ran: "done", cached: "cached", failed: "FAILED" }

export interface DisplayOptions {
  /** Print a line for every stage served from the cache too. */
  readonly verbose?: boolean
}

/** `stage k/N` bookkeeping shared by both displays. */
const counter = () => {
  let total: number | undefined
  let finished = 0
  return {
    begin: (n: number) => {
      total = n
      finished = 0
    },
    next: (): string => {
      finished++
      return total === undefined || total === 0 ? "" : `, stage ${Math.min(finished, total)}/${total}`
    },
  }
}

/** Plain lines, for logs and pipes. */
export const makeLines = (write: (line: string) => void, now: () => number = Date.now, options: DisplayOptions = {}): ProgressShape => {
  const live = new Map<string, Live>()
  const count = counter()
  return {
    begin: (n) => Effect.sync(() => count.begin(n)),
    started: (node, detail) =>
      Effect.sync(() => {
        live.set(node, newLive(now()))
        write(`[${node}] started${detail ? ` (${detail})` : ""}`)
      }),
    progress: (node, p) =>
      Effect.sync(() => {
        const l = live.get(node)
        if (l === undefined) return
        const firstUpdate = l.first === undefined
        const t = now()
        observe(l, p, t)
        const fraction = p.total > 0 ? p.done / p.total : 0
        const decile = Math.floor(fraction * 10 + 1e-9)
        const gap = t - l.lastLineAt
        if (firstUpdate || (decile > l.lastFraction && gap >= PLAIN_MIN_GAP_MS) || gap >= PLAIN_MAX_GAP_MS) {
          l.lastFraction = decile
          l.lastLineAt = t
          write(`[${node}] ${p.done}/${p.total} (${Math.round(fraction * 100)}%) ${eta(l, p, t)}${p.note ? ` ${p.note}` : ""}`)
        }
      }),
    log: (node, message) => Effect.sync(() => write(`[${node}] ${message}`)),
    finished: (node, status, millis, detail) =>
      Effect.sync(() => {
        live.delete(node)
        if (status === "cached" && options.verbose !== true) return
        const time = status === "cached" ? "" : ` in ${formatDuration(millis)}`
        const k = status === "cached" ? "" : count.next()
        write(`[${node}] ${symbol[status]}${time}${detail ? ` (${detail})` : ""}${k === "" ? "" : ` (${k.slice(2)})`}`)
      }),
    close: Effect.void,
  }
}

/** Live bars redrawn in place on a terminal (ANSI), with finished lines scrolling above. */
export const makeTTY = (stream: { write: (s: string) => unknown; columns?: number }, now: () => number = Date.now, options: DisplayOptions = {}): ProgressShape => {
  const live = new Map<string, Live>()
  const count = counter()
  let drawn = 0
  let lastDraw = 0
  const erase = () => {
    if (drawn > 0) stream.write(`\x1b[${drawn}A\x1b[0J`)
    drawn = 0
  }
  const draw = (force: boolean) => {
    const t = now()
    if (!force && t - lastDraw < 100) return
    lastDraw = t
    erase()
    const width = Math.max(40, (stream.columns ?? 100) - 1)
    const lines = [...live.entries()].map(([node, l]) => {
      const p = l.last
      if (p === undefined) return `  ${node} running ${formatDuration(t - l.startedAt)}`.slice(0, width)
      const fraction = p.total > 0 ? p.done / p.total : 0
      return `  ${node} ${bar(fraction, 24)} ${Math.round(fraction * 100)}% ${p.done}/${p.total} ${eta(l, p, t)}${p.note ? ` ${p.note}` : ""}`.slice(0, width)
    })
    for (const line of lines) stream.write(`${line}\n`)
    drawn = lines.length
  }
  const above = (text: string) => {
    erase()
    stream.write(`${text}\n`)
    draw(true)
  }
  return {
    begin: (n) => Effect.sync(() => count.begin(n)),
    started: (node) =>
      Effect.sync(() => {
        live.set(node, newLive(now()))
        draw(true)
      }),
    progress: (node, p) =>
      Effect.sync(() => {
        const l = live.get(node)
        if (l !== undefined) observe(l, p, now())
        draw(false)
      }),
    log: (node, message) => Effect.sync(() => above(`  [${node}] ${message}`)),
    finished: (node, status, millis, detail) =>
      Effect.sync(() => {
        live.delete(node)
        if (status === "cached" && options.verbose !== true) return
        const time = status === "cached" ? "" : ` in ${formatDuration(millis)}`
        const k = status === "cached" ? "" : count.next()
        above(`${status === "failed" ? "x" : "✓"} ${node} ${symbol[status]}${time}${detail ? ` (${detail})` : ""}${k === "" ? "" : ` (${k.slice(2)})`}`)
      }),
    close: Effect.sync(erase),
  }
}

export const silent: ProgressShape = {
  started: () => Effect.void,
  progress: () => Effect.void,
  log: () => Effect.void,
  finished: () => Effect.void,
  close: Effect.void,
}

/** The display for a stream: bars on a TTY, plain lines otherwise. */
export const layerFor = (stream: NodeJS.WriteStream, options: DisplayOptions = {}): Layer.Layer<ProgressDisplay> =>
  Layer.succeed(ProgressDisplay, stream.isTTY ? makeTTY(stream, Date.now, options) : makeLines((line) => stream.write(`${line}\n`), Date.now, options))

export const layerSilent: Layer.Layer<ProgressDisplay> = Layer.succeed(ProgressDisplay, silent)
