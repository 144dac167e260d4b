/**
 * Speed of the CPU engines against PyTorch on the same machine (issue 7):
 * the ViT-Ti (width 192, 12 blocks, 3 heads, 28 px, patch 4, 50 tokens)
 * train step and forward at batch 32, on every tensor backend present here
 * (wasm, cpu, and `native`, in f32 and with bf16 matmuls, when its addon is
 * built), and the same step in PyTorch (test/bench/torch_vit.py, float32 and
 * bf16 autocast) when `/usr/bin/python3 -c "import torch"` works. PyTorch runs
 * with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from its environment
 * (that command only; under the values this workplace sets its fp32 runs
 * older OpenBLAS kernels) and reports its threads and OpenBLAS core. It runs
 * in each of its thread/BLAS setups present here (torchSetups.ts) every round;
 * each PyTorch figure is its fastest setup's median, named.
 * (test/bench/steps.bench.ts measures every step kind the pipelines run.)
 *
 * Each configuration runs test/bench/vit.bench.ts in a child process (a fresh
 * tfjs engine per backend); configurations are interleaved over `--repeats`
 * rounds and each figure is the median of its rounds, so that ratios come from
 * one run under one machine load (reported as load averages before and after).
 *
 *   node --import tsx test/bench/speed.bench.ts [--json] [--seconds S] [--repeats R]
 *        [--backends native,wasm,cpu] [--threads N] [--no-torch] [--torch-setups pthread,openmp,torch1]
 */
import { execFileSync, spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import { loadavg } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { nativeAddonPath } from "../../runtime/backend/native/NativeBackend.ts"
import { bf16SkipReason } from "./bf16Here.ts"
import { type TorchSetup, torchBaseEnv, torchSetups, torchSetupsNote } from "./torchSetups.ts"

const here = dirname(fileURLToPath(import.meta.url))
const argv = process.argv.slice(2)
const option = (name: string): string | undefined => {
  const i = argv.indexOf(name)
  return i >= 0 ? argv[i + 1] : undefined
}
const positive = (name: string, fallback: number): number => {
  const v = Number(option(name))
  return Number.isFinite(v) && v > 0 ? v : fallback
}
const json = argv.includes("--json")
const seconds = positive("--seconds", 3)
const repeats = Math.round(positive("--repeats", 2))
const threads = option("--threads")
const python = "/usr/bin/python3"

/** One measured configuration: a tfjs backend (and native matmul precision) or PyTorch. */
interface Config {
  readonly key: string
  readonly run: () => { train: number; forward: number; bf16Train?: number }
}

const log = (line: string): void => {
  if (!json) console.error(line)
}

const tfjsConfig = (key: string, backend: string, env: Record<string, string> = {}): Config => ({
  key,
  run: () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", join(here, "vit.bench.ts"), "--json", "--backend", backend, "--seconds", String(seconds)], {
      env: { ...process.env, ...env, ...(threads === undefined ? {} : { SSL_KD_NATIVE_THREADS: threads }) },
      encoding: "utf8",
    })
    const last = r.stdout.trim().split("\n").at(-1) ?? ""
    if (r.status !== 0 || !last.startsWith("{")) throw new Error(`vit.bench.ts --backend ${backend} failed: ${r.stderr.trim().split("\n").at(-1) ?? r.status}`)
    const out: unknown = JSON.parse(last)
    const num = (field: string): number => {
      const v: unknown = typeof out === "object" && out !== null ? Reflect.get(out, field) : undefined
      return typeof v === "number" ? v : Number.NaN
    }
    return { train: num("trainStepImgPerSec"), forward: num("forwardImgPerSec") }
  },
})

const setups = torchSetups(threads, option("--torch-setups")?.split(","))
const torchSetupLines = new Map<string, string>()

const torchConfig = (setup: TorchSetup): Config => ({
  key: `torch:${setup.name}`,
  run: () => {
    const args = [join(here, "torch_vit.py"), "--seconds", String(seconds), ...setup.args]
    const out: unknown = JSON.parse(execFileSync(python, args, { encoding: "utf8", env: setup.env }).trim().split("\n").at(-1) ?? "{}")
    const line: unknown = typeof out === "object" && out !== null ? Reflect.get(out, "setup") : undefined
    if (!torchSetupLines.has(setup.name) && typeof line === "string") {
      torchSetupLines.set(setup.name, line)
      log(`${setup.name}: ${line}`)
    }
    const num = (field: string): number => {
      const v: unknown = typeof out === "object" && out !== null ? Reflect.get(out, field) : undefined
      return typeof v === "number" ? v : Number.NaN
    }
    return { train: num("fp32TrainImgPerSec"), forward: num("fp32ForwardImgPerSec"), bf16Train: num("bf16TrainImgPerSec") }
  },
})

const torchPresent = !argv.includes("--no-torch") && setups.length > 0 && spawnSync(python, ["-c", "import torch"], { env: torchBaseEnv() }).status === 0
if (torchPresent) log(torchSetupsNote(setups))
if (!torchPresent) log(`PyTorch skipped: ${argv.includes("--no-torch") ? "--no-torch" : `${python} cannot import torch (apt-get install python3-torch)`}`)
const nativePresent = existsSync(nativeAddonPath())
const noBf16 = nativePresent ? bf16SkipReason() : undefined
if (noBf16 !== undefined) log(`native bf16 skipped: ${noBf16}`)
const wanted = (option("--backends") ?? "native,wasm,cpu").split(",")
const configs: Array<Config> = [
  ...(wanted.includes("native") && nativePresent ? [tfjsConfig("native", "native"), ...(noBf16 === undefined ? [tfjsConfig("native-bf16", "native", { SSL_KD_NATIVE_BF16: "1" })] : [])] : []),
  ...(wanted.includes("wasm") ? [tfjsConfig("wasm", "wasm")] : []),
  ...(torchPresent ? setups.map(torchConfig) : []),
]
// The pure-JS cpu backend takes minutes per round: measured once.
const once: Array<Config> = wanted.includes("cpu") ? [tfjsConfig("cpu", "cpu")] : []
if (!nativePresent) log(`native backend absent (${nativeAddonPath()} not built): measuring wasm${torchPresent ? " against PyTorch" : ""} only`)

const loadBefore = loadavg().map((x) => Number(x.toFixed(2)))
const samples = new Map<string, Array<{ train: number; forward: number; bf16Train?: number }>>()
for (let round = 0; round < repeats; round++) {
  for (const c of [...configs, ...(round === 0 ? once : [])]) {
    const r = c.run()
    log(`round ${round + 1}/${repeats} ${c.key}: train ${r.train} img/s, forward ${r.forward} img/s${r.bf16Train === undefined ? "" : `, bf16 train ${r.bf16Train} img/s`}`)
    samples.set(c.key, [...(samples.get(c.key) ?? []), r])
  }
}
const loadAfter = loadavg().map((x) => Number(x.toFixed(2)))

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length === 0 ? Number.NaN : s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}
const fig = (key: string, pick: (r: { train: number; forward: number; bf16Train?: number }) => number | undefined): number | undefined => {
  const xs = (samples.get(key) ?? []).map(pick).filter((x): x is number => x !== undefined && Number.isFinite(x))
  return xs.length === 0 ? undefined : Number(median(xs).toFixed(1))
}
const ratio = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined || b === undefined ? undefined : Number((a / b).toFixed(2))

const ours = nativePresent && samples.has("native") ? "native" : "wasm"
/** The PyTorch setup with the best median for a figure: the reference that figure is compared with. */
const bestTorch = (pick: (r: { train: number; forward: number; bf16Train?: number }) => number | undefined): { setup: string; value: number } | undefined =>
  setups
    .map((s) => ({ setup: s.name, value: fig(`torch:${s.name}`, pick) }))
    .filter((x): x is { setup: string; value: number } => x.value !== undefined)
    .sort((a, b) => b.value - a.value)[0]
const torchTrainBest = bestTorch((r) => r.train)
const torchBf16Best = bestTorch((r) => r.bf16Train)
const torchForwardBest = bestTorch((r) => r.forward)
const torchTrain = torchTrainBest?.value
const result = {
  bench: "speed",
  arch: "vitTinyPatch4_28",
  batch: 32,
  cpus: (await import("node:os")).cpus().length,
  loadAverage: { before: loadBefore, after: loadAfter },
  backend: ours,
  vitTiTrainImgPerSec: fig(ours, (r) => r.train),
  vitTiForwardImgPerSec: fig(ours, (r) => r.forward),
  nativeBf16VitTiTrainImgPerSec: fig("native-bf16", (r) => r.train),
  nativeBf16VitTiForwardImgPerSec: fig("native-bf16", (r) => r.forward),
  wasmVitTiTrainImgPerSec: fig("wasm", (r) => r.train),
  wasmVitTiForwardImgPerSec: fig("wasm", (r) => r.forward),
  cpuVitTiTrainImgPerSec: fig("cpu", (r) => r.train),
  torchVitTiTrainImgPerSec: torchTrain,
  torchBf16VitTiTrainImgPerSec: torchBf16Best?.value,
  torchVitTiForwardImgPerSec: torchForwardBest?.value,
  /** Which PyTorch setup (torchSetups.ts) each PyTorch figure comes from: the fastest median of each. */
  torchBestSetup: { train: torchTrainBest?.setup, bf16Train: torchBf16Best?.setup, forward: torchForwardBest?.setup },
  ratioVsTorch: ratio(fig(ours, (r) => r.train), torchTrain),
  nativeBf16RatioVsTorch: ratio(fig("native-bf16", (r) => r.train), torchTrain),
  nativeBf16RatioVsTorchBf16: ratio(fig("native-bf16", (r) => r.train), torchBf16Best?.value),
  wasmRatioVsTorch: ratio(fig("wasm", (r) => r.train), torchTrain),
  threads: threads ?? "default",
  torchSetups: setups.map((s) => ({ name: s.name, description: s.description, setup: torchSetupLines.get(s.name) })),
  repeats,
  samples: Object.fromEntries(samples),
}
if (json) console.log(JSON.stringify(result))
else {
  const show = (label: string, v: number | undefined, unit = " img/s") => v === undefined ? [] : [`  ${label.padEnd(34)} ${v}${unit}`]
  console.log([
    `ViT-Ti patch4 28px, batch 32, median of ${repeats} interleaved rounds; load average ${loadBefore.join(" ")} -> ${loadAfter.join(" ")} on ${result.cpus} cpus`,
    ...show(`${ours} train step`, result.vitTiTrainImgPerSec),
    ...show(`${ours} forward`, result.vitTiForwardImgPerSec),
    ...show("native bf16-matmul train step", result.nativeBf16VitTiTrainImgPerSec),
    ...show("wasm train step", result.wasmVitTiTrainImgPerSec),
    ...show("cpu (pure JS) train step", result.cpuVitTiTrainImgPerSec),
    ...show(`PyTorch fp32 train step (${result.torchBestSetup.train ?? "-"})`, result.torchVitTiTrainImgPerSec),
    ...show(`PyTorch bf16-autocast train (${result.torchBestSetup.bf16Train ?? "-"})`, result.torchBf16VitTiTrainImgPerSec),
    ...show(`${ours} / PyTorch fp32`, result.ratioVsTorch, ""),
    ...show("native bf16 / PyTorch fp32", result.nativeBf16RatioVsTorch, ""),
    ...show("native bf16 / PyTorch bf16", result.nativeBf16RatioVsTorchBf16, ""),
    ...show("wasm / PyTorch fp32", result.wasmRatioVsTorch, ""),
  ].join("\n"))
}
