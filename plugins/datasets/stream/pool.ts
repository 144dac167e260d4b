/**
 * A fixed pool of worker threads running {@link transformImage}; jobs go to
 * the worker with the fewest in flight. `workers: 0` runs the jobs on the
 * main thread (sharp still decodes off the JS thread), for tests and
 * comparison. `close()` terminates the workers.
 */
import { Worker } from "node:worker_threads"
import { transformImage, type TransformJob } from "./transform.ts"

export interface DecodePool {
  readonly run: (job: TransformJob) => Promise<Uint8Array>
  readonly close: () => Promise<void>
  readonly workers: number
}

/** Starts `workers` threads (0: in-process). */
export const makeDecodePool = (workers: number): DecodePool => {
  if (workers <= 0) return { run: transformImage, close: async () => undefined, workers: 0 }
  const threads = Array.from({ length: workers }, () => {
    const w = new Worker(new URL("./worker.mjs", import.meta.url))
    w.unref()
    return { w, inFlight: 0 }
  })
  const waiting = new Map<number, { resolve: (p: Uint8Array) => void; reject: (e: Error) => void; thread: (typeof threads)[number] }>()
  let next = 0
  for (const t of threads) {
    t.w.on("message", (m: { id: number; pixels?: Uint8Array; error?: string }) => {
      const p = waiting.get(m.id)
      if (p === undefined) return
      waiting.delete(m.id)
      t.inFlight--
      if (m.pixels !== undefined) p.resolve(m.pixels)
      else p.reject(new Error(m.error ?? "worker failed"))
    })
    t.w.on("error", (e) => {
      for (const [id, p] of waiting) if (p.thread === t) (waiting.delete(id), p.reject(e))
    })
  }
  return {
    workers,
    run: (job) =>
      new Promise((resolve, reject) => {
        const thread = threads.reduce((a, b) => (b.inFlight < a.inFlight ? b : a))
        const id = next++
        thread.inFlight++
        if (waiting.size === 0) for (const t of threads) t.w.ref()
        waiting.set(id, { resolve, reject, thread })
        thread.w.postMessage({ id, job })
      }).finally(() => {
        if (waiting.size === 0) for (const t of threads) t.w.unref()
      }) as Promise<Uint8Array>,
    close: async () => {
      await Promise.all(threads.map((t) => t.w.terminate()))
    },
  }
}
