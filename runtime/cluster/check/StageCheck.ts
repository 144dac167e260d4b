/**
 * A runner's stage check, in a thread of its own (checkMain.ts): import the
 * stage a job names from this runner's checkout and fingerprint its code.
 * The runner's main thread only sends the request and awaits the answer, so
 * its event loop stays free to refresh the leases of the jobs it holds while
 * ts-morph parses (seconds on a cold memo, more on a loaded machine). The
 * thread is started, and ts-morph loaded in it, when the runner starts; a
 * thread that dies is replaced at the next check.
 */
import { Worker } from "node:worker_threads"
import { Data, Effect } from "effect"
import type { CheckRequest, FromChecker, PluginCode, ToChecker } from "./protocol.ts"

const ENTRY = new URL("./worker.mjs", import.meta.url)

/** The stage could not be checked: its module does not load, the export is not the stage, its code cannot be fingerprinted, or the thread died. */
export class StageCheckRefused extends Data.TaggedError("StageCheckRefused")<{
  readonly errorTag: string
  readonly detail: string
}> {
  override get message() {
    return `${this.errorTag}: ${this.detail}`
  }
}

export interface Checked {
  readonly moduleUrl: string
  readonly fingerprint: string
  readonly fromMemo: boolean
  readonly millis: number
  /** With a config in the request: the dataset identity of the stage's reads on this runner, and those paths. */
  readonly data?: { readonly identity: string | null; readonly reads: ReadonlyArray<string> }
  /** With preload in the request: the user plugins the config names on this runner. */
  readonly plugins?: ReadonlyArray<PluginCode>
}

export interface StageCheck {
  readonly check: (request: CheckRequest) => Effect.Effect<Checked, StageCheckRefused>
  /** Terminates the thread; later checks start a new one. */
  readonly shutdown: Effect.Effect<void>
}

type Pending = { readonly resolve: (r: Checked) => void; readonly reject: (e: StageCheckRefused) => void }

/** The check thread, started now and warmed (ts-morph loaded); `memoFile` persists fingerprints between runs, `digestsFile` file digests. */
export const makeStageCheck = (options: { readonly memoFile: string | undefined; readonly digestsFile?: string | undefined }): StageCheck => {
  let worker: Worker | undefined
  const pending = new Map<number, Pending>()
  let nextId = 1

  const failAll = (detail: string) => {
    for (const p of pending.values()) p.reject(new StageCheckRefused({ errorTag: "StageCheckFailed", detail }))
    pending.clear()
  }

  const start = (): Worker => {
    const w = new Worker(ENTRY, { workerData: { memoFile: options.memoFile, digestsFile: options.digestsFile } })
    w.on("message", (msg: FromChecker) => {
      if (msg.type === "ready") return
      const p = pending.get(msg.id)
      if (p === undefined) return
      pending.delete(msg.id)
      if (msg.type === "checked") p.resolve({ moduleUrl: msg.moduleUrl, fingerprint: msg.fingerprint, fromMemo: msg.fromMemo, millis: msg.millis, ...(msg.data === undefined ? {} : { data: msg.data }), ...(msg.plugins === undefined ? {} : { plugins: msg.plugins }) })
      else p.reject(new StageCheckRefused({ errorTag: msg.errorTag, detail: msg.detail }))
      if (pending.size === 0) w.unref()
    })
    const gone = (why: string) => {
      if (worker === w) worker = undefined
      failAll(`the stage-check thread ${why}`)
    }
    w.on("error", (e) => gone(`failed (${e instanceof Error ? e.message.split("\n")[0] : String(e)})`))
    w.on("exit", (code) => gone(`exited with code ${code}`))
    w.postMessage({ type: "warm" } satisfies ToChecker)
    w.unref()
    return w
  }
  worker = start()

  const check: StageCheck["check"] = (request) =>
    Effect.callback<Checked, StageCheckRefused>((resume) => {
      const w = (worker ??= start())
      const id = nextId++
      pending.set(id, { resolve: (r) => resume(Effect.succeed(r)), reject: (e) => resume(Effect.fail(e)) })
      w.ref()
      try {
        w.postMessage({ type: "check", id, request } satisfies ToChecker)
      } catch (e) {
        pending.delete(id)
        resume(Effect.fail(new StageCheckRefused({ errorTag: "StageCheckFailed", detail: `the request could not be sent to the stage-check thread (${String(e)})` })))
      }
      // Interrupted: forget the answer (the thread finishes the check; its memo keeps the result).
      return Effect.sync(() => void pending.delete(id))
    })

  const shutdown = Effect.promise(async () => {
    const w = worker
    worker = undefined
    failAll("was shut down")
    if (w !== undefined) await w.terminate().catch(() => undefined)
  })

  return { check, shutdown }
}
