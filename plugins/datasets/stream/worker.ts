/**
 * Worker-thread entry of the streaming reader: receives `{ id, job }`,
 * answers `{ id, pixels }` (the buffer transferred, not copied) or
 * `{ id, error }`. Started by `pool.ts` through `worker.mjs` (which registers tsx).
 */
import { parentPort } from "node:worker_threads"
import { transformImage, type TransformJob } from "./transform.ts"

parentPort?.on("message", (msg: { readonly id: number; readonly job: TransformJob }) => {
  transformImage(msg.job).then(
    (pixels) => parentPort?.postMessage({ id: msg.id, pixels }, [pixels.buffer as ArrayBuffer]),
    (e: unknown) => parentPort?.postMessage({ id: msg.id, error: e instanceof Error ? e.message : String(e) }),
  )
})
