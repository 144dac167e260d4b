/**
 * The optional native CPU kernel layer (issue 7): a tfjs backend named
 * `native` that is tfjs-backend-cpu with BatchMatMul on oneDNN (f32, or bf16
 * inputs with f32 accumulation) and softmax, transpose, reductions and
 * elementwise ops in OpenMP C++ (the addon in `native/`, built by
 * `npm run build:native`), plus fused kernels (../kernels.ts: LayerNorm,
 * GELU, the softmax gradient, AdamW) that plugins/models/ops and
 * plugins/training/adamw.ts use when the loaded addon has them. Large
 * products run on 1 thread or all, per shape, whichever measures faster
 * (`SSL_KD_NATIVE_THREADS` pins the count). Without the built addon, {@link loadNativeBackend}
 * returns why, and backend selection moves on to wasm, saying so once.
 *
 * @example
 * const r = loadNativeBackend()
 * if (r.ok) {
 *   await tf.setBackend("native")
 *   if (nativeBf16Support()?.ok === true) setNativeMatmulPrecision("bf16") // AVX-512 CPUs only; throws NativeBf16Unsupported elsewhere
 * }
 */
import "@tensorflow/tfjs-backend-cpu"
import type { NativeAddonLoadFailed, NativeAddonMissing, NativeDisabled } from "./errors.ts"
import { loadAddon } from "./internal/addon.ts"
import { nativeTfName } from "./internal/backend.ts"
import { registerNativeBackend } from "./internal/register.ts"

export { NativeAddonLoadFailed, NativeAddonMissing, NativeBf16Unsupported, NativeDisabled } from "./errors.ts"
export { nativeAddonPath } from "./internal/addon.ts"
export { type FusedKernelName, fusedKernelNames, hasFusedKernel } from "../kernels.ts"
export { type MatmulPrecision, nativeTfName } from "./internal/backend.ts"
export type { Bf16Support } from "./internal/bf16.ts"
export { nativeBf16Support, nativeKernelNames, nativeMatmulNote, nativeMatmulPrecision, setNativeMatmulPrecision } from "./internal/register.ts"

/** Why the native layer is not available. */
export type NativeUnavailable = NativeAddonMissing | NativeAddonLoadFailed | NativeDisabled

/** The registered backend's library line ("oneDNN 2.6.3, avx512_core_bf16"), or why there is none. */
export type NativeLoad =
  | { readonly ok: true; readonly tfName: typeof nativeTfName; readonly library: string }
  | { readonly ok: false; readonly error: NativeUnavailable }

/** Loads the addon and registers the `native` backend (idempotent). */
export const loadNativeBackend = (): NativeLoad => {
  const addon = loadAddon()
  if ("_tag" in addon) return { ok: false, error: addon }
  registerNativeBackend(addon)
  return { ok: true, tfName: nativeTfName, library: addon.info() }
}

/** The one line printed when selection skips the native layer: what is missing, and what runs instead. */
export const nativeFallbackLine = (error: NativeUnavailable, next = "wasm"): string =>
  `ssl-kd: ${error.message}; using the ${next} backend`
