/**
 * Child process of nativeBf16Absent.test.ts: selects the native backend (with
 * whatever SSL_KD_NATIVE_BF16 / DNNL_MAX_CPU_ISA the parent set), runs one
 * product, tries to switch bf16 on, and prints one JSON line of what happened.
 */
import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import { nativeBf16Support, nativeMatmulPrecision, setNativeMatmulPrecision } from "../../../runtime/backend/native/NativeBackend.ts"
import { describeBackend, selectBackend } from "../../../runtime/backend/TensorBackend.ts"

const main = async (): Promise<void> => {
  const info = await Effect.runPromise(selectBackend({ flag: "native" }))
  const product = Array.from(tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5, 6], [7, 8]])).dataSync())
  const precisionAtStart = nativeMatmulPrecision()
  let setError: { tag: string; message: string } | undefined
  try {
    setNativeMatmulPrecision("bf16")
  } catch (e) {
    setError = { tag: String(Reflect.get(Object(e), "_tag")), message: e instanceof Error ? e.message : String(e) }
  }
  console.log(JSON.stringify({ line: describeBackend(info), product, precisionAtStart, precisionAfter: nativeMatmulPrecision(), support: nativeBf16Support(), setError }))
}
void main()
