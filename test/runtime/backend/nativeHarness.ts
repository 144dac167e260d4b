/**
 * Shared set-up of the native-backend suites: whether the addon is built
 * (suites skip with a printed reason when not), and native-vs-cpu comparison
 * of one op on the same inputs.
 */
import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import { describe } from "vitest"
import { loadNativeBackend, NativeBf16Unsupported, nativeBf16Support } from "../../../runtime/backend/native/NativeBackend.ts"
import { selectBackend } from "../../../runtime/backend/TensorBackend.ts"

const load = loadNativeBackend()

/** Why the native suites are skipped here, or `undefined` when the addon is built. */
export const nativeSkipReason: string | undefined = load.ok ? undefined : load.error.message

const bf16 = load.ok ? nativeBf16Support() : undefined

/**
 * Why bf16 matmuls cannot be tested here: no addon, or a CPU whose oneDNN has
 * none (below AVX-512; test/runtime/backend/nativeBf16Absent.test.ts covers that case on every machine).
 */
export const bf16SkipReason: string | undefined = nativeSkipReason ??
  (bf16 === undefined || bf16.ok ? undefined : new NativeBf16Unsupported({ isa: bf16.isa }).message)

/** `describe` when the addon is built; otherwise a skipped suite and one line saying why. */
export const describeNative = (title: string, suite: () => void): void => {
  if (nativeSkipReason !== undefined) {
    console.log(`skipping "${title}": ${nativeSkipReason}`)
    describe.skip(title, suite)
  } else describe(title, suite)
}

export const useBackend = (name: "native" | "cpu"): Promise<unknown> => Effect.runPromise(selectBackend({ flag: name }))

/** Largest |a - b| relative to max |b| (1 when b is all zero), NaNs and infinities compared exactly. */
export const maxRelDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  if (a.length !== b.length) return Infinity
  let scale = 0
  for (let i = 0; i < b.length; i++) if (Number.isFinite(b[i]!)) scale = Math.max(scale, Math.abs(b[i]!))
  let worst = 0
  for (let i = 0; i < b.length; i++) {
    const x = a[i]!
    const y = b[i]!
    if (!Number.isFinite(y) || !Number.isFinite(x)) {
      if (!Object.is(x, y) && !(Number.isNaN(x) && Number.isNaN(y))) return Infinity
      continue
    }
    worst = Math.max(worst, Math.abs(x - y) / (scale === 0 ? 1 : scale))
  }
  return worst
}

/**
 * Runs `op` on `inputs` (plain arrays with shapes) on the native backend and
 * on the cpu backend; returns outputs' shapes and values from both, leaving
 * no tensors behind.
 */
export const onBoth = async (
  inputs: ReadonlyArray<{ readonly shape: ReadonlyArray<number>; readonly values: Float32Array | Int32Array }>,
  op: (...xs: Array<tf.Tensor>) => tf.Tensor | Array<tf.Tensor>,
): Promise<{ native: Array<{ shape: Array<number>; values: Float32Array | Int32Array | Uint8Array }>; cpu: Array<{ shape: Array<number>; values: Float32Array | Int32Array | Uint8Array }> }> => {
  const run = () =>
    tf.tidy(() => {
      const xs = inputs.map((i) => tf.tensor(i.values, [...i.shape], i.values instanceof Int32Array ? "int32" : "float32"))
      const out = op(...xs)
      return (Array.isArray(out) ? out : [out]).map((t) => ({ shape: t.shape, values: t.dataSync() }))
    })
  await useBackend("native")
  const native = run()
  await useBackend("cpu")
  const cpu = run()
  return { native, cpu }
}

/** Deterministic normal-ish values in [-2, 2) (a linear congruential sequence). */
export const randomValues = (n: number, seed: number): Float32Array => {
  const out = new Float32Array(n)
  let s = seed >>> 0 || 1
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    out[i] = (s / 2 ** 32) * 4 - 2
  }
  return out
}

export const input = (shape: ReadonlyArray<number>, seed: number) => ({ shape, values: randomValues(shape.reduce((p, d) => p * d, 1), seed) })
