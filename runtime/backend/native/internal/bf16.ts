/**
 * Whether this CPU's oneDNN can run bf16 matmuls. oneDNN 2.x has bf16
 * matmuls on AVX-512 cores (natively with AVX512-BF16 or AMX, emulated on
 * plain AVX512_CORE) and none below: on an AVX2-only CPU every bf16 product
 * fails with "could not create a primitive descriptor iterator". One probe
 * (a 1x1x1 product) per addon, before bf16 is ever switched on, so a stage
 * never fails mid-run for a precision the machine lacks.
 */
import type { NativeAddon } from "./addon.ts"

/** bf16 matmuls run here, or the ISA oneDNN dispatches to that lacks them. */
export type Bf16Support = { readonly ok: true } | { readonly ok: false; readonly isa: string }

const probed = new WeakMap<NativeAddon, Bf16Support>()

/** The ISA field of the addon's info line ("oneDNN 2.6.3, avx2, 2 threads" -> "avx2"). */
const isaOf = (addon: NativeAddon): string => addon.info().split(", ")[1] ?? "unknown"

export const bf16Support = (addon: NativeAddon): Bf16Support => {
  const known = probed.get(addon)
  if (known !== undefined) return known
  let support: Bf16Support
  try {
    addon.matmul(new Float32Array([1]), new Float32Array([1]), new Float32Array(1), 1, 1, 1, 1, 1, false, false, true)
    support = { ok: true }
  } catch {
    support = { ok: false, isa: isaOf(addon) }
  }
  probed.set(addon, support)
  return support
}
