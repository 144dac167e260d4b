/**
 * Every training step kind the pipelines run, native (f32 and bf16 matmuls)
 * side by side with PyTorch (fp32 and bf16 autocast) on the same machine
 * (issue 16): the DINO multi-crop step, the MAE step (75 % masking), the
 * student-only step, the joint-distillation step (2 Partial-1 teachers +
 * student, eq. 4) and a ViT-B/16 teacher's forward at 224 px; shapes from
 * stepKinds.ts (`--batch`, `--teacher-width`, ... override them).
 *
 * Each measurement runs in its own process (test/bench/step.child.ts, and
 * test/bench/torch_steps.py under /usr/bin/python3), so each prints its own
 * peak RSS. Configurations are interleaved over `--repeats` rounds (every
 * kind, every engine, in turn) and each figure is the median of its rounds,
 * so ratios come from one run under one machine load (load averages are
 * printed before and after). The machine's peaks come first: a 2048³ matmul
 * in f32 and bf16, with PyTorch and with the native addon, before and after
 * the steps (the best of each is the peak); each step's
 * matmul GFLOP/s (stepKinds.ts counts; the PyTorch profiler's count is
 * printed beside it) is shown as a fraction of the larger peak of its precision.
 *
 * PyTorch runs with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from its
 * environment (that command only: under the values this workplace sets, its
 * fp32 runs older OpenBLAS kernels), and prints its kernel and thread setup.
 * It is measured in each of its thread/BLAS setups present here
 * (torchSetups.ts: Debian's default, OpenBLAS on OpenMP, one PyTorch thread)
 * and each step is compared with its fastest setup, named in the table.
 * Without /usr/bin/python3 and torch the PyTorch columns are skipped with a
 * message: the project needs no Python to run or test.
 *
 *   node --import tsx test/bench/steps.bench.ts [--json] [--seconds S] [--repeats R] [--kinds dino,mae,...]
 *        [--threads N] [--no-torch] [--torch-setups pthread,openmp,torch1] [--no-bf16] [--batch N] [--teacher-width D] ...
 */
import { spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import { cpus, loadavg } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { nativeAddonPath } from "../../runtime/backend/native/NativeBackend.ts"
import { bf16SkipReason } from "./bf16Here.ts"
import { defaultShapes, stepKinds } from "./stepKinds.ts"
import { type TorchSetup, torchBaseEnv, torchSetups, torchSetupsNote } from "./torchSetups.ts"

const here = dirname(fileURLToPath(import.meta.url))
const argv = process.argv.slice(2)
const option = (name: string): string | undefined => {
  const i = argv.indexOf(name)
  return i >= 0 ? argv[i + 1] : undefined
}
const json = argv.includes("--json")
const seconds = option("--seconds") ?? "3"
const repeats = Math.max(1, Math.round(Number(option("--repeats") ?? 1)))
const threads = option("--threads")
const kinds = (option("--kinds") ?? stepKinds.join(",")).split(",").filter((k) => (stepKinds as ReadonlyArray<string>).includes(k))
const bf16Unavailable = argv.includes("--no-bf16") ? undefined : bf16SkipReason()
if (bf16Unavailable !== undefined) console.error(`bf16 columns skipped: ${bf16Unavailable}`)
const precisions = argv.includes("--no-bf16") || bf16Unavailable !== undefined ? ["f32"] : ["f32", "bf16"]
/** The shape options given, passed on to both children unchanged. */
const shapeArgs = Object.keys(defaultShapes).flatMap((k) => {
  const flag = `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`
  const v = option(flag)
  return v === undefined ? [] : [flag, v]
})
const python = "/usr/bin/python3"
const log = (line: string): void => {
  if (!json) console.error(line)
}
const load = (): string => loadavg().map((x) => x.toFixed(2)).join(" ")

interface Sample {
  readonly imgPerSec: number
  readonly msPerStep: number
  readonly gflops?: number | undefined
  readonly flopsPerStep?: number | undefined
  readonly torchFlopsPerStep?: number | undefined
  readonly peakRssMiB: number
}

const lastJson = (stdout: string): Record<string, unknown> => {
  const line = stdout.trim().split("\n").filter((l) => l.startsWith("{")).at(-1)
  return line === undefined ? {} : (JSON.parse(line) as Record<string, unknown>)
}

const nativeRun = (kind: string, precision: string): Record<string, unknown> => {
  const r = spawnSync(process.execPath, ["--import", "tsx", join(here, "step.child.ts"), "--backend", "native", "--kind", kind, "--seconds", seconds, ...shapeArgs], {
    env: { ...process.env, SSL_KD_NATIVE_BF16: precision === "bf16" ? "1" : "0", ...(threads === undefined ? {} : { SSL_KD_NATIVE_THREADS: threads }) },
    encoding: "utf8",
  })
  if (r.status !== 0) throw new Error(`step.child.ts --kind ${kind} failed: ${r.stderr.trim().split("\n").slice(-3).join(" | ")}`)
  return lastJson(r.stdout)
}

const setups = torchSetups(threads, option("--torch-setups")?.split(","))

const torchRun = (kind: string, precision: string, setup: TorchSetup, showConfig = false): Record<string, unknown> => {
  const args = [join(here, "torch_steps.py"), "--kind", kind, "--seconds", seconds, ...shapeArgs, ...(precision === "bf16" ? ["--bf16"] : []),
    ...setup.args, ...(showConfig ? ["--show-config"] : [])]
  const r = spawnSync(python, args, { env: setup.env, encoding: "utf8" })
  if (r.status !== 0) throw new Error(`torch_steps.py --kind ${kind} (setup ${setup.name}) failed: ${r.stderr.trim().split("\n").slice(-3).join(" | ")}`)
  if (showConfig) log(r.stderr.trim())
  return lastJson(r.stdout)
}

const torchPresent = !argv.includes("--no-torch") && setups.length > 0 && spawnSync(python, ["-c", "import torch"], { env: torchBaseEnv() }).status === 0
if (!torchPresent) log(`PyTorch columns skipped: ${argv.includes("--no-torch") ? "--no-torch" : `${python} cannot import torch (apt-get install python3-torch)`}`)
if (!existsSync(nativeAddonPath())) {
  console.error(`the native addon is not built (${nativeAddonPath()}): npm run build:native`)
  process.exit(1)
}

const num = (o: Record<string, unknown>, k: string): number | undefined => (typeof o[k] === "number" ? o[k] : undefined)
const sample = (o: Record<string, unknown>): Sample => ({
  imgPerSec: num(o, "imgPerSec") ?? Number.NaN,
  msPerStep: num(o, "msPerStep") ?? Number.NaN,
  gflops: num(o, "gflops"),
  flopsPerStep: num(o, "flopsPerStep"),
  torchFlopsPerStep: num(o, "torchFlopsPerStep"),
  peakRssMiB: num(o, "peakRssMiB") ?? Number.NaN,
})

const samples = new Map<string, Array<Sample>>()
const add = (key: string, s: Sample): void => void samples.set(key, [...(samples.get(key) ?? []), s])
const loadBefore = load()
log(`load average ${loadBefore} on ${cpus().length} cpus; ${repeats} round(s) of ${seconds} s per measurement`)
if (torchPresent) {
  log(torchSetupsNote(setups))
  for (const [i, setup] of setups.entries()) log(`${setup.name}: ${(torchRun("peak", "f32", setup, i === 0)["openblas"] as string | undefined) ?? ""}`)
}

const peaksNow = (): void => {
  for (const precision of precisions) {
    add(`peak native ${precision}`, sample(nativeRun("peak", precision)))
    if (torchPresent) for (const setup of setups) add(`peak torch ${precision}`, sample(torchRun("peak", precision, setup)))
  }
}
for (let round = 0; round < repeats; round++) {
  peaksNow()
  for (const kind of kinds) {
    for (const precision of precisions) {
      const n = sample(nativeRun(kind, precision))
      add(`${kind} native ${precision}`, n)
      const t = torchPresent ? setups.map((setup) => [setup.name, sample(torchRun(kind, precision, setup))] as const) : []
      for (const [name, sample] of t) add(`${kind} torch:${name} ${precision}`, sample)
      log(`round ${round + 1} ${kind} ${precision}: native ${n.imgPerSec} img/s (${n.peakRssMiB} MiB)` +
        t.map(([name, s]) => `, torch ${name} ${s.imgPerSec} img/s (${s.peakRssMiB} MiB)`).join("") + `; load ${load()}`)
    }
  }
}
// Peaks again after the steps: a peak taken under a passing load spike would inflate every fraction.
peaksNow()
const loadAfter = load()

const median = (xs: ReadonlyArray<number>): number | undefined => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length === 0 ? undefined : s.length % 2 === 1 ? s[mid] : (s[mid - 1]! + s[mid]!) / 2
}
const fig = (key: string, pick: (s: Sample) => number | undefined): number | undefined => median((samples.get(key) ?? []).map((s) => pick(s) ?? Number.NaN))
const round1 = (x: number | undefined): number | undefined => (x === undefined ? undefined : Number(x.toFixed(x < 10 ? 2 : 1)))
const peaks = Object.fromEntries(precisions.map((p) => {
  const best = (key: string): number | undefined => {
    const xs = (samples.get(key) ?? []).map((s) => s.gflops).filter((x): x is number => x !== undefined && Number.isFinite(x))
    return xs.length === 0 ? undefined : Math.max(...xs)
  }
  const native = best(`peak native ${p}`)
  const torch = best(`peak torch ${p}`)
  return [p, { native: round1(native), torch: round1(torch), machine: round1(Math.max(native ?? 0, torch ?? 0)) }]
}))

/** The PyTorch setup with the best median img/s for a step and precision: the reference it is compared with. */
const bestSetup = (kind: string, p: string): string | undefined =>
  setups
    .map((setup) => ({ name: setup.name, v: fig(`${kind} torch:${setup.name} ${p}`, (s) => s.imgPerSec) }))
    .filter((x): x is { name: string; v: number } => x.v !== undefined)
    .sort((a, b) => b.v - a.v)[0]?.name

const rows = kinds.map((kind) => {
  const flops = fig(`${kind} native f32`, (s) => s.flopsPerStep)
  const torchFlops = fig(`${kind} torch:${bestSetup(kind, "f32") ?? ""} f32`, (s) => s.torchFlopsPerStep)
  const per = Object.fromEntries(precisions.map((p) => {
    const peak = peaks[p]?.machine
    const entry = (engine: string) => {
      const ms = fig(`${kind} ${engine} ${p}`, (s) => s.msPerStep)
      const gflops = ms === undefined || flops === undefined ? undefined : flops / ms / 1e6
      return {
        imgPerSec: round1(fig(`${kind} ${engine} ${p}`, (s) => s.imgPerSec)),
        msPerStep: round1(ms),
        gflops: round1(gflops),
        fractionOfPeak: gflops === undefined || peak === undefined || peak === 0 ? undefined : Number((gflops / peak).toFixed(3)),
        peakRssMiB: fig(`${kind} ${engine} ${p}`, (s) => s.peakRssMiB),
      }
    }
    const native = entry("native")
    const best = torchPresent ? bestSetup(kind, p) : undefined
    const torch = best === undefined ? undefined : { setup: best, ...entry(`torch:${best}`) }
    const torchBySetup = Object.fromEntries(setups.map((setup) => [setup.name, round1(fig(`${kind} torch:${setup.name} ${p}`, (s) => s.imgPerSec))]))
    const ratio = torch?.imgPerSec === undefined || native.imgPerSec === undefined ? undefined : Number((native.imgPerSec / torch.imgPerSec).toFixed(2))
    return [p, { native, torch, torchBySetup, ratio }]
  }))
  return { kind, flopsPerStep: flops, torchProfilerFlopsPerStep: torchFlops, ...per }
})

const result = {
  bench: "steps",
  shapes: { ...defaultShapes, ...Object.fromEntries(shapeArgs.flatMap((v, i, a) => (i % 2 === 0 ? [[v.slice(2), Number(a[i + 1])]] : []))) },
  cpus: cpus().length,
  threads: threads ?? "default",
  torchSetups: setups.map(({ name, description }) => ({ name, description })),
  loadAverage: { before: loadBefore, after: loadAfter },
  repeats,
  peaksGflops: peaks,
  steps: rows,
}
if (json) console.log(JSON.stringify(result))
else {
  const f = (x: number | undefined, w: number): string => (x === undefined ? "-" : String(x)).padStart(w)
  const pct = (x: number | undefined): string => (x === undefined ? "-" : `${(x * 100).toFixed(1)}%`).padStart(7)
  const lines = [
    `steps bench: median of ${repeats} interleaved round(s); load average ${loadBefore} -> ${loadAfter} on ${result.cpus} cpus, threads ${result.threads}`,
    `shapes ${JSON.stringify(result.shapes)}`,
    ...precisions.map((p) => `peak ${p} 2048^3 matmul GFLOP/s: native ${peaks[p]?.native ?? "-"}, PyTorch ${peaks[p]?.torch ?? "-"}`),
    `${"step".padEnd(13)} ${"prec".padEnd(5)} ${"native img/s".padStart(12)} ${"%peak".padStart(7)} ${"RSS MiB".padStart(8)} ${"torch img/s".padStart(12)} ${"%peak".padStart(7)} ${"RSS MiB".padStart(8)} ${"ratio".padStart(6)}  ${"torch setup".padEnd(11)} GFLOP/step (torch profiler)`,
    ...rows.flatMap((r) =>
      precisions.map((p) => {
        const e = (r as unknown as Record<string, { native: Record<string, number | undefined>; torch?: Record<string, number | undefined> & { setup?: string }; ratio?: number }>)[p]!
        return `${r.kind.padEnd(13)} ${p.padEnd(5)} ${f(e.native["imgPerSec"], 12)} ${pct(e.native["fractionOfPeak"])} ${f(e.native["peakRssMiB"], 8)} ` +
          `${f(e.torch?.["imgPerSec"], 12)} ${pct(e.torch?.["fractionOfPeak"])} ${f(e.torch?.["peakRssMiB"], 8)} ${f(e.ratio, 6)}  ${(e.torch?.setup ?? "-").padEnd(11)} ` +
          `${r.flopsPerStep === undefined ? "-" : (r.flopsPerStep / 1e9).toFixed(2)} (${r.torchProfilerFlopsPerStep === undefined ? "-" : (r.torchProfilerFlopsPerStep / 1e9).toFixed(2)})`
      })
    ),
  ]
  console.log(lines.join("\n"))
}
