/**
 * The tensor backend as a runtime service (DESIGN.md, "Tensor backend").
 *
 * Preference: tfjs-node-gpu, tfjs-node (optional packages), native (this
 * project's oneDNN kernels, when `npm run setup` built them), the wasm
 * backend (the embedded default), the pure-JS cpu backend. `--backend NAME` or
 * `SSL_KD_BACKEND=NAME` forces one; a forced backend that is absent fails with
 * {@link BackendNotAvailable}, naming the backends that are available.
 *
 * @example
 * const program = Effect.gen(function*() {
 *   const backend = yield* TensorBackend
 *   io.err(describeBackend(backend.info))
 * }).pipe(Effect.provide(TensorBackend.layer({ flag, env: process.env.SSL_KD_BACKEND })))
 */
import { Context, Effect, Layer } from "effect"
import type { BackendInfo } from "./internal/candidates.ts"
import { type BackendRequest, selectBackend } from "./internal/select.ts"

export { BackendNotAvailable, NoBackendAvailable, UnknownBackendName } from "./errors.ts"
export { type BackendInfo, type BackendName, backendNames } from "./internal/candidates.ts"
export { activeBackendInfo, availableBackends, type BackendRequest, selectBackend } from "./internal/select.ts"

/** The active tensor backend; `info` goes into every cache manifest. */
export class TensorBackend extends Context.Service<TensorBackend, { readonly info: BackendInfo }>()(
  "ssl-kd/runtime/TensorBackend",
) {
  /** Selects and activates a backend once, when the layer is built. */
  static readonly layer = (request: BackendRequest = {}) =>
    Layer.effect(TensorBackend, Effect.map(selectBackend(request), (info) => ({ info })))
}

/** The line printed at start: `tensor backend: wasm 4.22.0 (tfjs-core 4.22.0, simd, single-threaded)`. */
export const describeBackend = (info: BackendInfo): string => `tensor backend: ${info.name} ${info.version} (${info.detail})`

/**
 * The `--backend` value in an argv, if any (`--backend NAME` or
 * `--backend=NAME`); for commands that parse their own flags.
 */
export const backendFlag = (argv: ReadonlyArray<string>): string | undefined => {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === "--backend") return argv[i + 1]
    if (a !== undefined && a.startsWith("--backend=")) return a.slice("--backend=".length)
  }
  return undefined
}
