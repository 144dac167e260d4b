/**
 * Without the native addon (simulated by pointing `SSL_KD_NATIVE_ADDON` at a
 * missing file, so this runs whether or not it is built): the default
 * selection falls back to wasm and says so in exactly one stderr line; the
 * native backend is not listed as available; forcing it fails with a typed
 * error whose reason names the build command; a corrupt `.node` file is a
 * NativeAddonLoadFailed, not a crash.
 */
import { writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { describe, expect, it, vi } from "vitest"

const missing = join(tmpdir(), `ssl-kd-no-such-addon-${process.pid}.node`)
process.env["SSL_KD_NATIVE_ADDON"] = missing
process.env["SSL_KD_NATIVE"] = ""

describe("native backend absent", () => {
  it("falls back to wasm with one clear line, once per process", async () => {
    const lines: Array<string> = []
    const spy = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk))
      return true
    })
    const { availableBackends, selectBackend } = await import("../../../runtime/backend/TensorBackend.ts")
    const info = await Effect.runPromise(selectBackend())
    const available = await Effect.runPromise(availableBackends())
    await Effect.runPromise(selectBackend())
    spy.mockRestore()
    expect(info.name).toBe("wasm")
    expect(available).not.toContain("native")
    const said = lines.filter((l) => l.includes("native CPU kernels"))
    expect(said).toHaveLength(1)
    expect(said[0]).toBe(
      `ssl-kd: native CPU kernels not built (${missing} is absent); build them with \`npm run build:native\` ` +
        "(needs a C++ compiler and libdnnl-dev); using the wasm backend\n",
    )
  })

  it("--backend native fails with BackendNotAvailable naming the build step", async () => {
    const { selectBackend } = await import("../../../runtime/backend/TensorBackend.ts")
    const err = await Effect.runPromise(Effect.flip(selectBackend({ flag: "native" })))
    expect(err._tag).toBe("BackendNotAvailable")
    if (err._tag !== "BackendNotAvailable") return
    expect(err.reason).toContain("npm run build:native")
    expect(err.available).toContain("wasm")
  })

  it("a .node file that is not a loadable addon is NativeAddonLoadFailed", async () => {
    const { openAddon } = await import("../../../runtime/backend/native/internal/addon.ts")
    const bad = join(tmpdir(), `ssl-kd-bad-addon-${process.pid}.node`)
    writeFileSync(bad, "not an ELF file")
    const r = openAddon(bad)
    expect("_tag" in r && r._tag).toBe("NativeAddonLoadFailed")
    expect("_tag" in r ? r.message : "").toContain("npm run build:native")
  })
})
