/**
 * The backends ssl-kd can run on, in preference order (DESIGN.md, "Tensor
 * backend"): tfjs-node-gpu, tfjs-node, native, wasm, cpu. The two tfjs-node
 * ones are optional packages, probed by a dynamic import that may fail;
 * `native` is this repository's oneDNN kernel layer (runtime/backend/native),
 * present only once `npm run build:native` has built its addon.
 */
import * as tf from "@tensorflow/tfjs-core"
import { wasmBinaryPaths } from "./wasmPaths.ts"

/** What a loaded backend reports about itself (recorded in cache manifests). */
export interface BackendInfo {
  /** ssl-kd's name: `node-gpu`, `node`, `native`, `wasm` or `cpu`. */
  readonly name: BackendName
  /** Version of the npm package that provides it. */
  readonly version: string
  /** Free text: tfjs-core version, SIMD / threads for wasm, and so on. */
  readonly detail: string
}

import { backendNames, type BackendName } from "../backendNames.ts"

export { backendNames, type BackendName, isBackendName } from "../backendNames.ts"

export interface Candidate {
  readonly name: BackendName
  /** Name under which the package registers itself in the tfjs engine. */
  readonly tfName: string
  /** npm package providing it. */
  readonly pkg: string
  /** Imports the package (registering the backend); resolves to its version. */
  readonly load: () => Promise<string>
  /** Once active: a one-line description. */
  readonly detail: () => string
}

const readVersion = (mod: unknown, field: string): string => {
  if (typeof mod === "object" && mod !== null && field in mod) {
    const v: unknown = Reflect.get(mod, field)
    if (typeof v === "string") return v
    if (typeof v === "object" && v !== null) {
      const inner: unknown = Reflect.get(v, "tfjs-node")
      if (typeof inner === "string") return inner
    }
  }
  return "unknown"
}

/** A dynamic import whose specifier TypeScript does not resolve (optional package). */
const importOptional = (specifier: string): Promise<unknown> => import(specifier)

const nativeDetail = (): string => `tfjs-core ${tf.version_core}, libtensorflow`

let nativeModule: typeof import("../native/NativeBackend.ts") | undefined
let nativeLibrary = "oneDNN"
let nativeUnavailable: { readonly line: (next: string) => string; readonly announce: boolean } | undefined

/**
 * Loads the native kernel layer; when its addon is absent, fails so selection
 * moves on, and remembers why: `nativeFallbackNote` gives the one line to
 * print once automatic selection settles on another backend (not printed when
 * `native` was forced: the selection error says it then).
 */
const loadNative = async (): Promise<string> => {
  nativeModule = await import("../native/NativeBackend.ts")
  const r = nativeModule.loadNativeBackend()
  if (!r.ok) {
    const m = nativeModule
    const error = r.error
    nativeUnavailable = { line: (next) => m.nativeFallbackLine(error, next), announce: error._tag !== "NativeDisabled" }
    throw r.error
  }
  nativeLibrary = r.library
  return tf.version_core
}

let fallbackAnnounced = false

/** The line saying the native layer is absent and `next` is used instead, once per process; `undefined` otherwise. */
export const nativeFallbackNote = (next: string): string | undefined => {
  if (fallbackAnnounced || nativeUnavailable === undefined || !nativeUnavailable.announce) return undefined
  fallbackAnnounced = true
  return nativeUnavailable.line(next)
}

export const candidates: ReadonlyArray<Candidate> = [
  {
    name: "node-gpu",
    tfName: "tensorflow",
    pkg: "@tensorflow/tfjs-node-gpu",
    load: async () => readVersion(await importOptional("@tensorflow/tfjs-node-gpu"), "version"),
    detail: () => `${nativeDetail()} (CUDA)`,
  },
  {
    name: "node",
    tfName: "tensorflow",
    pkg: "@tensorflow/tfjs-node",
    load: async () => readVersion(await importOptional("@tensorflow/tfjs-node"), "version"),
    detail: nativeDetail,
  },
  {
    name: "native",
    tfName: "native",
    pkg: "ssl-kd native kernels (native/)",
    load: loadNative,
    detail: () => `tfjs-core ${tf.version_core}, cpu backend with native kernels (${nativeLibrary}), ${nativeModule?.nativeMatmulNote() ?? "f32 matmuls"}`,
  },
  {
    name: "wasm",
    tfName: "wasm",
    pkg: "@tensorflow/tfjs-backend-wasm",
    load: async () => {
      const wasm = await import("@tensorflow/tfjs-backend-wasm")
      wasm.setWasmPaths(wasmBinaryPaths())
      return wasm.version_wasm
    },
    detail: () => {
      const simd = tf.env().getBool("WASM_HAS_SIMD_SUPPORT") ? "simd" : "no simd"
      const threads = tf.env().getBool("WASM_HAS_MULTITHREAD_SUPPORT") ? "multi-threaded" : "single-threaded"
      return `tfjs-core ${tf.version_core}, ${simd}, ${threads}`
    },
  },
  {
    name: "cpu",
    tfName: "cpu",
    pkg: "@tensorflow/tfjs-backend-cpu",
    load: async () => (await import("@tensorflow/tfjs-backend-cpu")).version_cpu,
    detail: () => `tfjs-core ${tf.version_core}, pure JavaScript`,
  },
]
