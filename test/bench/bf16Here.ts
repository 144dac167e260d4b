/**
 * Whether the native backend can run bf16 matmuls on this machine (oneDNN 2.x:
 * AVX-512 cores only), asked of a fresh process once per bench, so a bench
 * never prints f32 figures under a bf16 label on a CPU without them.
 */
import { spawnSync } from "node:child_process"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const probe = join(dirname(fileURLToPath(import.meta.url)), "../runtime/backend/bf16Probe.child.ts")

/** `undefined` when bf16 matmuls run here; otherwise why they are skipped. */
export const bf16SkipReason = (): string | undefined => {
  const r = spawnSync(process.execPath, ["--import", "tsx", probe], { env: { ...process.env, SSL_KD_NATIVE_BF16: "0" }, encoding: "utf8" })
  if (r.status !== 0) return `the bf16 probe failed: ${r.stderr.trim().split("\n").slice(-2).join(" | ")}`
  const out = JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}") as { support?: { ok: boolean; isa?: string }; setError?: { message: string } }
  return out.support?.ok === true ? undefined : (out.setError?.message ?? "bf16 matmuls are not available on this CPU")
}
