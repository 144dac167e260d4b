/**
 * The main of a runner's stage-check thread (started by worker.mjs): imports
 * the stage a job names from this runner's checkout and computes its code
 * fingerprint (ts-morph, synchronous and seconds long on a cold memo, with
 * the TypeScript compiler to load first). Done here, not on the runner's main
 * thread, so that the main thread's event loop keeps refreshing the leases of
 * the jobs it holds (a starved refresh let another runner take a job that
 * was still running). The memo is persisted after each computed fingerprint.
 * Given the job's config, it also hashes the files the stage reads here
 * (dataset identity, hashed here for the same reason: a first hash of a
 * dataset reads all of it), and fingerprints the user plugins the config
 * names (after importing the job's plugin files).
 */
import { parentPort, workerData } from "node:worker_threads"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { Effect, Schema } from "effect"
import type { AnyStage } from "../../../dsl/Stage.ts"
import { makeDatasetIdentity } from "../../executor/DatasetIdentity.ts"
import { pluginsNamed } from "../../executor/plugins.ts"
import * as Fingerprint from "../../fingerprint/Fingerprint.ts"
import type { FromChecker, PluginCode, ToChecker } from "./protocol.ts"

const port = parentPort
if (port === null) throw new Error("runtime/cluster/check/checkMain.ts runs only as a worker thread")
const post = (msg: FromChecker) => port.postMessage(msg)

const isStage = (v: unknown): v is AnyStage => typeof v === "object" && v !== null && (v as { _tag?: unknown })._tag === "Stage"
const firstLine = (e: unknown) => (e instanceof Error ? e.message.split("\n")[0] : String(e))

const memos = workerData as { readonly memoFile: string | undefined; readonly digestsFile: string | undefined }
const fingerprints = Fingerprint.makeFingerprinter(memos.memoFile)
/** Content hashes of the files stages read, memoized by size and mtime (as the planner's). */
const datasets = makeDatasetIdentity(memos.digestsFile)

/** One check at a time: the fingerprinter is synchronous inside, and its memo is one table. */
let queue: Promise<void> = Promise.resolve()

port.on("message", (msg: ToChecker) => {
  if (msg.type === "warm") {
    queue = queue.then(() => Effect.runPromise(fingerprints.warm)).catch(() => undefined) // a failure shows at the first check
    return
  }
  const { id, request } = msg
  queue = queue.then(async () => {
    const moduleUrl = pathToFileURL(request.moduleFile).href
    let mod: Record<string, unknown>
    try {
      mod = (await import(moduleUrl)) as Record<string, unknown>
    } catch (e) {
      return post({ type: "refused", id, errorTag: "StageModuleError", detail: `${request.moduleFile} does not load: ${firstLine(e)}` })
    }
    const stage = mod[request.exportName]
    if (!isStage(stage) || stage.name !== request.stageName) {
      return post({ type: "refused", id, errorTag: "StageNotFound", detail: `export ${request.exportName} of ${request.moduleFile} is not stage ${request.stageName}` })
    }
    const result = await Effect.runPromise(Effect.result(fingerprints.fingerprint(stage)))
    if (result._tag === "Failure") return post({ type: "refused", id, errorTag: result.failure._tag, detail: result.failure.message })
    if (!result.success.fromMemo) await Effect.runPromise(fingerprints.flush)
    let data: { identity: string | null; reads: Array<string> } | undefined
    if ("config" in request) {
      let reads: Array<string>
      try {
        reads = stage.reads(Schema.decodeUnknownSync(stage.config)(request.config)).map((p) => path.resolve(p))
      } catch (e) {
        return post({ type: "refused", id, errorTag: "StageConfigInvalid", detail: `stage ${request.stageName} cannot read the job's config here: ${firstLine(e)}` })
      }
      const identity = await Effect.runPromise(Effect.result(reads.length === 0 ? Effect.succeed(null) : datasets.identify(reads)))
      if (identity._tag === "Failure") {
        return post({ type: "refused", id, errorTag: identity.failure._tag, detail: `stage ${request.stageName} reads ${reads.join(", ")} here: ${identity.failure.message}` })
      }
      await Effect.runPromise(datasets.flush)
      data = { identity: identity.success, reads }
    }
    let plugins: Array<PluginCode> | undefined
    if (request.preload !== undefined) {
      for (const url of request.preload) {
        try {
          await import(url) // registers the user's plugins in this thread's registries
        } catch (e) {
          return post({ type: "refused", id, errorTag: "PluginModuleError", detail: `plugin file ${url} of stage ${request.stageName} does not load here: ${firstLine(e)}` })
        }
      }
      plugins = []
      for (const use of pluginsNamed(request.config)) {
        if (result.success.files.has(use.site.file)) continue // in the stage's own closure, as the planner skips it
        const label = `${use.what} "${use.name}"`
        const site = await Effect.runPromise(Effect.result(fingerprints.fingerprintSite(stage.name, label, use.site)))
        if (site._tag === "Failure") return post({ type: "refused", id, errorTag: site.failure._tag, detail: site.failure.message })
        plugins.push({ what: use.what, name: use.name, code: site.success.fingerprint })
      }
      await Effect.runPromise(fingerprints.flush)
    }
    post({
      type: "checked",
      id,
      moduleUrl,
      fingerprint: result.success.fingerprint,
      fromMemo: result.success.fromMemo,
      millis: result.success.millis,
      ...(data === undefined ? {} : { data }),
      ...(plugins === undefined ? {} : { plugins }),
    })
  }).catch((e: unknown) => post({ type: "refused", id, errorTag: "StageCheckFailed", detail: `checking stage ${request.stageName} failed: ${firstLine(e)}` }))
})
post({ type: "ready" })
