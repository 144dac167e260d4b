/**
 * The `native` tfjs backend class: tfjs-backend-cpu's `MathBackendCPU` (its
 * tensor storage, Float32Arrays) plus the addon and the matmul precision.
 * Registration and kernel overrides are in register.ts.
 */
import { totalmem } from "node:os"
import * as tf from "@tensorflow/tfjs-core"
import { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu"
import type { NativeAddon } from "./addon.ts"
import { bf16Support } from "./bf16.ts"
import { BufferPool } from "./pool.ts"

/** Name of the backend in the tfjs engine (`tf.setBackend("native")`). */
export const nativeTfName = "native"

/** Matmul input precision: f32, or bf16 inputs with f32 accumulation and output. */
export type MatmulPrecision = "f32" | "bf16"

const precisionFromEnv = (): MatmulPrecision => (process.env["SSL_KD_NATIVE_BF16"] === "1" ? "bf16" : "f32")

/**
 * Free output buffers kept for reuse (a caching allocator, as PyTorch has for
 * CUDA): a quarter of the machine's memory unless `SSL_KD_NATIVE_POOL_MB` says
 * otherwise. A ViT-Ti train step at batch 32 cycles through ~2.2 GB of
 * buffers; a cap below that sends every step back to fresh allocations.
 */
const poolCapBytes = (): number => {
  const mb = Number(process.env["SSL_KD_NATIVE_POOL_MB"])
  return Number.isFinite(mb) && mb >= 0 ? mb * 2 ** 20 : Math.floor(totalmem() / 4)
}

/** A cpu backend whose hot kernels run natively; tensors are plain Float32Arrays as in the cpu backend. */
export class NativeBackend extends MathBackendCPU {
  matmulPrecision: MatmulPrecision
  /** When `SSL_KD_NATIVE_BF16=1` asked for bf16 matmuls and this CPU has none: the ISA oneDNN runs on instead. */
  readonly bf16Refused: string | undefined
  readonly pool = new BufferPool(poolCapBytes())

  constructor(readonly addon: NativeAddon) {
    super()
    const wanted = precisionFromEnv()
    const support = wanted === "bf16" ? bf16Support(addon) : { ok: true as const }
    this.matmulPrecision = support.ok ? wanted : "f32"
    this.bf16Refused = support.ok ? undefined : support.isa
    // MathBackendCPU prints "install tfjs-node to speed things up" on first write; not advice for this backend.
    Reflect.set(this, "firstUse", false)
  }

  /** An output buffer for a native kernel (recycled; contents unspecified). */
  output(length: number): Float32Array {
    return this.pool.take(length)
  }

  override readSync(dataId: object): tf.backend_util.BackendValues {
    const values = super.readSync(dataId)
    this.pool.markEscaped(values)
    return values
  }

  override async read(dataId: object): Promise<tf.backend_util.BackendValues> {
    const values = await super.read(dataId)
    this.pool.markEscaped(values)
    return values
  }

  override disposeData(dataId: object, force = false): boolean {
    const values = this.data.get(dataId)?.values
    const released = super.disposeData(dataId, force)
    if (released) this.pool.release(values)
    return released
  }

  override dispose(): void {
    this.pool.clear()
    super.dispose()
  }
}

/** A kernel override: returns `undefined` to decline (the cpu kernel then runs). */
export type NativeKernel = (
  inputs: tf.NamedTensorInfoMap,
  attrs: tf.NamedAttrMap,
  backend: NativeBackend,
) => tf.TensorInfo | Array<tf.TensorInfo> | undefined

/** The Float32Array behind a tensor, or `undefined` for other dtypes. */
export const f32Values = (backend: NativeBackend, t: tf.TensorInfo | undefined): Float32Array | undefined => {
  if (t === undefined || t.dtype !== "float32") return undefined
  const values = backend.data.get(t.dataId)?.values
  return values instanceof Float32Array ? values : undefined
}

