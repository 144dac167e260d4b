/**
 * Backend selection: the first candidate that loads and initialises, or the
 * forced one. The tfjs engine is process-global, so loads are memoised.
 */
import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import { BackendNotAvailable, NoBackendAvailable, UnknownBackendName } from "../errors.ts"
import { registerTfjsGradients } from "./gradients.ts"
import { backendNames, type BackendInfo, type BackendName, type Candidate, candidates, isBackendName, nativeFallbackNote } from "./candidates.ts"

/** Which backend the user asked for, and where the request came from. */
export interface BackendRequest {
  /** Value of `--backend`, if given. */
  readonly flag?: string | undefined
  /** Value of `SSL_KD_BACKEND`, if set. */
  readonly env?: string | undefined
}

type LoadResult = { readonly ok: true; readonly version: string } | { readonly ok: false; readonly reason: string }

const loads = new Map<BackendName, Promise<LoadResult>>()

const describe = (e: unknown): string => {
  if (e instanceof Error) {
    const code: unknown = Reflect.get(e, "code")
    if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") return "package not installed"
    return e.message.split("\n")[0] ?? e.message
  }
  return String(e)
}

const load = (c: Candidate): Promise<LoadResult> => {
  const memo = loads.get(c.name)
  if (memo !== undefined) return memo
  const p = c.load().then(
    (version): LoadResult => ({ ok: true, version }),
    (e: unknown): LoadResult => ({ ok: false, reason: `${c.pkg}: ${describe(e)}` }),
  )
  loads.set(c.name, p)
  return p
}

const versions = new Map<BackendName, string>()

/** Loads and activates one candidate; `undefined` on success, else the reason. */
const activate = async (c: Candidate): Promise<string | undefined> => {
  await registerTfjsGradients()
  const loaded = await load(c)
  if (!loaded.ok) return loaded.reason
  versions.set(c.name, loaded.version)
  const ok = await tf.setBackend(c.tfName).catch(() => false)
  return ok ? undefined : `${c.pkg} ${loaded.version} failed to initialise`
}

/** The names of backends whose packages load here (does not change the active one). */
export const availableBackends = (): Effect.Effect<ReadonlyArray<BackendName>> =>
  Effect.promise(async () => {
    const out: Array<BackendName> = []
    for (const c of candidates) if ((await load(c)).ok) out.push(c.name)
    return out
  })

/** Info of the active tfjs backend, for manifests; `undefined` before selection. */
export const activeBackendInfo = (): BackendInfo | undefined => {
  const tfName = tf.getBackend()
  const c = candidates.find((x) => x.tfName === tfName && versions.has(x.name))
  if (c === undefined) return undefined
  return { name: c.name, version: versions.get(c.name) ?? "unknown", detail: c.detail() }
}

const infoOf = (c: Candidate): BackendInfo => ({ name: c.name, version: versions.get(c.name) ?? "unknown", detail: c.detail() })

/**
 * Selects and activates a backend. `--backend` wins over `SSL_KD_BACKEND`;
 * without either, the preference order is node-gpu, node, native, wasm, cpu
 * (when the native layer is absent, one line on stderr says which one is used).
 */
export const selectBackend = (
  request: BackendRequest = {},
): Effect.Effect<BackendInfo, BackendNotAvailable | UnknownBackendName | NoBackendAvailable> =>
  Effect.gen(function*() {
    const forced = request.flag !== undefined && request.flag !== ""
      ? { name: request.flag, source: "--backend" }
      : request.env !== undefined && request.env !== ""
      ? { name: request.env, source: "SSL_KD_BACKEND" }
      : undefined
    if (forced !== undefined) {
      const name = forced.name.trim().toLowerCase()
      if (!isBackendName(name)) {
        return yield* new UnknownBackendName({ requested: forced.name, source: forced.source, known: backendNames })
      }
      const c = candidates.find((x) => x.name === name)
      if (c === undefined) return yield* new UnknownBackendName({ requested: forced.name, source: forced.source, known: backendNames })
      const reason = yield* Effect.promise(() => activate(c))
      if (reason !== undefined) {
        const available = yield* availableBackends()
        return yield* new BackendNotAvailable({ requested: name, source: forced.source, reason, available })
      }
      return infoOf(c)
    }
    const attempts: Array<{ name: string; reason: string }> = []
    for (const c of candidates) {
      const reason = yield* Effect.promise(() => activate(c))
      if (reason === undefined) {
        if (attempts.some((a) => a.name === "native")) {
          const note = nativeFallbackNote(c.name)
          if (note !== undefined) process.stderr.write(`${note}\n`)
        }
        return infoOf(c)
      }
      attempts.push({ name: c.name, reason })
    }
    return yield* new NoBackendAvailable({ attempts })
  })
