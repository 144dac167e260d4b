/**
 * Forcing `--backend native` where the addon is absent fails with the typed
 * selection error only: no stderr line claiming a fallback to wasm (a forced
 * backend never falls back). A later automatic selection in the same process
 * still says, once, which backend replaced it.
 */
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { describe, expect, it, vi } from "vitest"

process.env["SSL_KD_NATIVE_ADDON"] = join(tmpdir(), `ssl-kd-no-such-addon-forced-${process.pid}.node`)
process.env["SSL_KD_NATIVE"] = ""

describe("forced native backend, absent", () => {
  it("fails without announcing a fallback; automatic selection afterwards announces it once", async () => {
    const lines: Array<string> = []
    const spy = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk))
      return true
    })
    const { selectBackend } = await import("../../../runtime/backend/TensorBackend.ts")
    const err = await Effect.runPromise(Effect.flip(selectBackend({ flag: "native" })))
    const afterForced = [...lines]
    const info = await Effect.runPromise(selectBackend())
    spy.mockRestore()
    expect(err._tag).toBe("BackendNotAvailable")
    expect(afterForced.filter((l) => l.includes("using the"))).toEqual([])
    expect(info.name).toBe("wasm")
    expect(lines.filter((l) => l.includes("using the wasm backend"))).toHaveLength(1)
  })
})
