/**
 * bf16 matmuls on a CPU without them. oneDNN 2.x has bf16 matmuls only on
 * AVX-512 cores; on an AVX2 machine every bf16 product used to fail inside a
 * stage ("matmul: could not create a primitive descriptor iterator", seen on
 * an AVX2-only AMD EPYC). `DNNL_MAX_CPU_ISA=AVX2` makes oneDNN dispatch as on
 * such a CPU, so this runs on every machine with the addon built:
 *  - SSL_KD_NATIVE_BF16=1 is not applied: products run in f32 and the
 *    backend line (printed, and kept in every manifest) says why;
 *  - switching bf16 on in code is a typed NativeBf16Unsupported naming the ISA,
 *    and leaves the precision at f32.
 */
import { spawnSync } from "node:child_process"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { expect, it } from "vitest"
import { describeNative } from "./nativeHarness.ts"

const child = join(dirname(fileURLToPath(import.meta.url)), "bf16Probe.child.ts")

const probe = (env: Record<string, string>): Record<string, unknown> => {
  const r = spawnSync(process.execPath, ["--import", "tsx", child], { env: { ...process.env, ...env }, encoding: "utf8", timeout: 60_000 })
  expect(r.status, r.stderr).toBe(0)
  return JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}") as Record<string, unknown>
}

describeNative("native bf16 matmuls on a CPU without them (oneDNN limited to AVX2)", () => {
  it("SSL_KD_NATIVE_BF16=1 runs f32 products and the backend line says why", () => {
    const out = probe({ DNNL_MAX_CPU_ISA: "AVX2", SSL_KD_NATIVE_BF16: "1" })
    expect(out["product"]).toEqual([19, 22, 43, 50])
    expect(out["precisionAtStart"]).toBe("f32")
    expect(out["support"]).toEqual({ ok: false, isa: "avx2" })
    expect(out["line"]).toContain("avx2")
    expect(out["line"]).toContain("f32 matmuls (SSL_KD_NATIVE_BF16=1 not applied: oneDNN has no bf16 matmuls on avx2, they need AVX-512)")
  })

  it("setNativeMatmulPrecision('bf16') is a typed NativeBf16Unsupported and leaves f32", () => {
    const out = probe({ DNNL_MAX_CPU_ISA: "AVX2", SSL_KD_NATIVE_BF16: "0" })
    expect(out["line"]).toMatch(/, f32 matmuls\)$/)
    expect(out["setError"]).toEqual({
      tag: "NativeBf16Unsupported",
      message: "bf16 matmuls are not available on this CPU (oneDNN dispatches to avx2; its bf16 matmuls need AVX-512): use f32",
    })
    expect(out["precisionAfter"]).toBe("f32")
  })
})
