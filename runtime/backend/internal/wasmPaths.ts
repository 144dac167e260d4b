/**
 * Where the wasm backend's `.wasm` binaries live in node_modules. In Node,
 * `setWasmPaths` takes file paths (no fetch), one per binary flavour
 * (tfjs-backend-wasm README, "Using bundlers").
 */
import { createRequire } from "node:module"
import { dirname, join } from "node:path"

/** The three binaries tfjs-backend-wasm 4.x may load (plain, SIMD, threaded SIMD). */
export const wasmBinaryNames = [
  "tfjs-backend-wasm.wasm",
  "tfjs-backend-wasm-simd.wasm",
  "tfjs-backend-wasm-threaded-simd.wasm",
] as const

export type WasmBinaryName = (typeof wasmBinaryNames)[number]

/** Absolute paths of the wasm binaries, resolved from the installed package. */
export const wasmBinaryPaths = (): Record<WasmBinaryName, string> => {
  const require = createRequire(import.meta.url)
  const dir = dirname(require.resolve("@tensorflow/tfjs-backend-wasm"))
  return {
    "tfjs-backend-wasm.wasm": join(dir, "tfjs-backend-wasm.wasm"),
    "tfjs-backend-wasm-simd.wasm": join(dir, "tfjs-backend-wasm-simd.wasm"),
    "tfjs-backend-wasm-threaded-simd.wasm": join(dir, "tfjs-backend-wasm-threaded-simd.wasm"),
  }
}
