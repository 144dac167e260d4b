/**
 * Progress display per stage. On a TTY: one live line per running stage with
 * a bar and an ETA, redrawn in place. Elsewhere (CI logs, pipes): plain lines
 * when a stage starts, every 10% or 15 s of progress, and when it ends.
 * Everything goes to stderr so `--json` output on stdout stays clean.
 */
import { Context, Effect, Layer } from "effect"
import type { Progress as StageProgress } from "../../dsl/StageContext.ts"

export type FinalStatus = "ran" | "cached" | "failed"

export interface ProgressShape {
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

interface Live {
  readonly startedAt: number
  last: StageProgress | undefined
  lastLineAt: number
  /** Last tenth of progress printed (plain lines). */
  lastFraction: number
}

const eta = (live: Live, p: StageProgress, now: number): string => {
  if (p.done <= 0 || p.total <= 0) return "eta ?"
  const elapsed = now - live.startedAt
  return `eta ${formatDuration((elapsed / p.done) * (p.total - p.done))}`
}

const bar = (fraction: number, width: number): string => {
  const f = Math.max(0, Math.min(1, fraction))
  const full = Math.round(f * width)
  return `[${"#".repeat(full)}${"-".repeat(width - full)}]`
}

const symbol: Record<FinalStatus, string> = { ran: "done", cached: "cached", failed: "FAILED" }

/** Plain lines, for logs and pipes. */
export const makeLines = (write: (line: string) => void, now: () => number = Date.now): ProgressShape => {
  const live = new Map<string, Live>()
  return {
    started: (node, detail) =>
      Effect.sync(() => {
        live.set(node, { startedAt: now(), last: undefined, lastLineAt: now(), lastFraction: 0 })
        write(`[${node}] started${detail ? ` (${detail})` : ""}`)
      }),
    progress: (node, p) =>
      Effect.sync(() => {
        const l = live.get(node)
        if (l === undefined) return
        l.last = p
        const t = now()
        const fraction = p.total > 0 ? p.done / p.total : 0
        const decile = Math.floor(fraction * 10 + 1e-9)
        if (decile > l.lastFraction || t - l.lastLineAt >= 15_000) {
          l.lastFraction = decile
          l.lastLineAt = t
          write(`[${node}] ${p.done}/${p.total} (${Math.round(fraction * 100)}%) ${eta(l, p, t)}${p.note ? ` ${p.note}` : ""}`)
        }
      }),
    log: (node, message) => Effect.sync(() => write(`[${node}] ${message}`)),
    finished: (node, status, millis, detail) =>
      Effect.sync(() => {
        live.delete(node)
        const time = status === "cached" ? "" : ` in ${formatDuration(millis)}`
        write(`[${node}] ${symbol[status]}${time}${detail ? ` (${detail})` : ""}`)
      }),
    close: Effect.void,
  }
}

/** Live bars redrawn in place on a terminal (ANSI), with finished lines scrolling above. */
export const makeTTY = (stream: { write: (s: string) => unknown; columns?: number }, now: () => number = Date.now): ProgressShape => {
  const live = new Map<string, Live>()
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
    started: (node) =>
      Effect.sync(() => {
        live.set(node, { startedAt: now(), last: undefined, lastLineAt: now(), lastFraction: 0 })
        draw(true)
      }),
    progress: (node, p) =>
      Effect.sync(() => {
        const l = live.get(node)
        if (l !== undefined) l.last = p
        draw(false)
      }),
    log: (node, message) => Effect.sync(() => above(`  [${node}] ${message}`)),
    finished: (node, status, millis, detail) =>
      Effect.sync(() => {
        live.delete(node)
        const time = status === "cached" ? "" : ` in ${formatDuration(millis)}`
        above(`${status === "failed" ? "x" : "✓"} ${node} ${symbol[status]}${time}${detail ? ` (${detail})` : ""}`)
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
export const layerFor = (stream: NodeJS.WriteStream): Layer.Layer<ProgressDisplay> =>
  Layer.succeed(ProgressDisplay, stream.isTTY ? makeTTY(stream) : makeLines((line) => stream.write(`${line}\n`)))

export const layerSilent: Layer.Layer<ProgressDisplay> = Layer.succeed(ProgressDisplay, silent)
