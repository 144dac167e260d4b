/**
 * Where a step's time goes on the native backend: wall time per step, time
 * inside kernels, and the slowest kernels (SSL_KD_NATIVE_PROFILE=1 timings,
 * per kernel; `=shapes`, per kernel and input shapes), over 2 steps after a warm-up.
 *
 *   SSL_KD_NATIVE_PROFILE=1 node --import tsx test/bench/stepProfile.ts [kind] [batch]
 */
import { Effect } from "effect"
import { selectBackend } from "../../runtime/backend/TensorBackend.ts"
import { nativeKernelNames, nativeKernelTimes } from "../../runtime/backend/native/internal/register.ts"
import { buildStep, defaultShapes, type StepKind, stepKinds } from "./stepKinds.ts"

const kind = process.argv[2] ?? "student"
if (!(stepKinds as ReadonlyArray<string>).includes(kind)) throw new RangeError(`kind must be one of ${stepKinds.join(", ")}, got ${kind}`)
await Effect.runPromise(selectBackend({ flag: "native", env: undefined }))
const step = buildStep(kind as StepKind, { ...defaultShapes, batch: Number(process.argv[3] ?? defaultShapes.batch) })
step.run()
nativeKernelTimes(true)
const start = performance.now()
step.run()
step.run()
const wall = (performance.now() - start) / 2
const rows = nativeKernelTimes(true)
const inKernels = rows.reduce((a, r) => a + r.ms, 0) / 2
console.log(`${kind}: ${wall.toFixed(0)} ms/step wall, ${inKernels.toFixed(0)} ms in ${rows.reduce((a, r) => a + r.calls, 0) / 2} kernel calls`)
// Kernels the native backend does not override run tfjs-backend-cpu's code (marked "cpu"); fused ones are "SslKd*".
const native = new Set(nativeKernelNames())
const where = (kernel: string): string => {
  const name = kernel.split(" ")[0] ?? kernel
  return native.has(name) || name.startsWith("SslKd") ? "" : " (cpu)"
}
for (const r of rows.slice(0, 25)) console.log(`${(r.kernel.slice(0, 64) + where(r.kernel)).padEnd(70)} ${(r.ms / 2).toFixed(1).padStart(8)} ms ${String(r.calls / 2).padStart(6)} calls`)
const cpu = rows.filter((r) => where(r.kernel) !== "")
console.log(`on the cpu kernels: ${(cpu.reduce((a, r) => a + r.ms, 0) / 2).toFixed(1)} ms in ${cpu.reduce((a, r) => a + r.calls, 0) / 2} calls (${[...new Set(cpu.map((r) => r.kernel.split(" ")[0]))].slice(0, 12).join(", ")})`)
step.dispose()
