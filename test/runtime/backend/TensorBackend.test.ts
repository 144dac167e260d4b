/** Backend selection: preference order, forcing by flag or environment, typed errors for absent or unknown backends. */
import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import {
  activeBackendInfo,
  availableBackends,
  backendFlag,
  describeBackend,
  selectBackend,
  TensorBackend,
} from "../../../runtime/backend/TensorBackend.ts"
import { defaultBackend } from "./allBackends.ts"

const fail = (flag: string | undefined, env?: string) => Effect.runPromise(Effect.flip(selectBackend({ flag, env })))

describe("TensorBackend", () => {
  afterAll(async () => {
    await Effect.runPromise(selectBackend({ flag: defaultBackend.name }))
  })

  it("wasm and cpu are available here; the default is the first available in preference order", async () => {
    const available = await Effect.runPromise(availableBackends())
    expect(available).toContain("wasm")
    expect(available).toContain("cpu")
    const order = ["node-gpu", "node", "native", "wasm", "cpu"]
    expect(defaultBackend.name).toBe(order.find((n) => available.some((a) => a === n)))
    const info = await Effect.runPromise(selectBackend())
    expect(info).toEqual(defaultBackend)
    expect(info.version).toMatch(/^\d+\.\d+\.\d+/)
  })

  it("the wasm backend finds its .wasm binaries in node_modules and computes", async () => {
    const info = await Effect.runPromise(selectBackend({ flag: "wasm" }))
    expect(tf.getBackend()).toBe("wasm")
    expect(info).toMatchObject({ name: "wasm", version: tf.version_core })
    expect(info.detail).toMatch(/simd|single-threaded/)
    expect(Array.from(tf.tidy(() => tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])).dataSync()))).toEqual([11])
  })

  it("--backend wins over SSL_KD_BACKEND; names are case-insensitive", async () => {
    expect((await Effect.runPromise(selectBackend({ flag: "CPU", env: "wasm" }))).name).toBe("cpu")
    expect(tf.getBackend()).toBe("cpu")
    expect((await Effect.runPromise(selectBackend({ env: "wasm" }))).name).toBe("wasm")
    expect(activeBackendInfo()?.name).toBe("wasm")
  })

  it("a forced backend that is absent fails naming it and the available ones", async () => {
    const err = await fail(undefined, "node-gpu")
    if (err._tag !== "BackendNotAvailable") return // tfjs-node-gpu is installed on this machine
    expect(err.requested).toBe("node-gpu")
    expect(err.source).toBe("SSL_KD_BACKEND")
    expect(err.available).toContain("cpu")
    expect(err.message).toContain('"node-gpu"')
    expect(err.message).toContain("wasm, cpu")
    expect(err.reason).toContain("@tensorflow/tfjs-node-gpu")
  })

  it("an unknown backend name fails with the known names", async () => {
    const err = await fail("webgl")
    expect(err._tag).toBe("UnknownBackendName")
    expect(err.message).toContain("node-gpu, node, native, wasm, cpu")
    expect(err.message).toContain("--backend")
  })

  it("the layer provides the selected backend's info for manifests", async () => {
    const program = Effect.gen(function*() {
      const backend = yield* TensorBackend
      return backend.info
    })
    const info = await Effect.runPromise(Effect.provide(program, TensorBackend.layer({ flag: "cpu" })))
    expect(info.name).toBe("cpu")
    expect(describeBackend(info)).toBe(`tensor backend: cpu ${info.version} (${info.detail})`)
    expect(activeBackendInfo()).toEqual(info)
  })

  it("backendFlag reads --backend NAME and --backend=NAME", () => {
    expect(backendFlag(["extract", "--backend", "cpu"])).toBe("cpu")
    expect(backendFlag(["--backend=wasm", "x"])).toBe("wasm")
    expect(backendFlag(["x"])).toBeUndefined()
  })
})
