/**
 * `npm run bench`: runs every benchmark script in its own process (so each
 * measures a fresh tfjs engine) and prints their figures; `--json` prints one
 * object keyed by benchmark. Scripts: pipeline engine overhead, data loader
 * throughput, ViT-Ti forward/train-step throughput, downstream evaluation in
 * process vs the worker pool, and the side-by-side speed suite (PyTorch).
 *
 *   npm run bench [-- --json] [-- --only pipeline,datasets]
 *
 * `soak` (crash and interrupt soak, issue 17; long), `imagenet-mini`
 * (every paper stage at the imagenet scale's shapes on a generated
 * miniature, issue 13; minutes) and `cluster` (dispatch overhead per stage,
 * local vs cluster, and a 6-item evaluation on 1 vs 3 runners, issue 14;
 * starts PostgreSQL and runner processes; minutes) run only when named:
 *   npm run bench -- --only soak [--soak-kills 50] [--soak-interrupts 10]
 *   npm run bench -- --only imagenet-mini [--keep] [--workers 2]
 *   npm run bench -- --only cluster [--small]
 */
import { spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"

const argv = process.argv.slice(2)
const json = argv.includes("--json")
const onlyAt = argv.indexOf("--only")
const only = onlyAt >= 0 ? new Set((argv[onlyAt + 1] ?? "").split(",")) : undefined

const benches = ["pipeline", "datasets", "stream", "vit", "evaluation", "trunk", "speed", "workerStart", "soak", "imagenet-mini", "cluster"] as const
/** Benchmarks that run only when `--only` names them. */
const optIn = new Set<string>(["soak", "imagenet-mini", "cluster"])
const passed = (name: string): Array<string> => {
  const at = argv.indexOf(`--soak-${name}`)
  return at >= 0 ? [`--${name}`, argv[at + 1] ?? ""] : []
}
/** The pure-JS cpu backend takes ~7 minutes at 0.3 img/s and says nothing new: `speed` skips it here. */
const workersAt = argv.indexOf("--workers")
const extraArgs: Record<string, ReadonlyArray<string>> = {
  speed: ["--backends", "native,wasm"],
  soak: [...passed("kills"), ...passed("interrupts")],
  "imagenet-mini": [...(argv.includes("--keep") ? ["--keep"] : []), ...(workersAt >= 0 ? ["--workers", argv[workersAt + 1] ?? ""] : [])],
  cluster: argv.includes("--small") ? ["--small"] : [],
}
const results: Record<string, unknown> = {}
let failed = 0
for (const name of benches) {
  if (only !== undefined ? !only.has(name) : optIn.has(name)) continue
  const file = fileURLToPath(new URL(`./${name}.bench.ts`, import.meta.url))
  if (!existsSync(file)) continue
  if (!json) console.log(`\n== ${name} ==`)
  const r = spawnSync(process.execPath, ["--import", "tsx", file, ...(extraArgs[name] ?? []), ...(json ? ["--json"] : [])], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", json ? "pipe" : "inherit"],
  })
  if (r.status !== 0) {
    failed++
    results[name] = { error: `exit ${r.status}`, stderr: (r.stderr ?? "").slice(-2000) }
    if (!json) console.log(`benchmark ${name} failed (exit ${r.status})`)
    continue
  }
  if (json) {
    const line = r.stdout.trim().split("\n").filter((l) => l.startsWith("{")).pop()
    results[name] = line === undefined ? { error: "no JSON output" } : JSON.parse(line)
  } else process.stdout.write(r.stdout)
}
/** The headline figures, at the top level of the JSON (as issues 3 and 7 specify). */
const headline = (): Record<string, unknown> => {
  const top: Record<string, unknown> = {}
  const vit = results["vit"] as Record<string, unknown> | undefined
  if (vit !== undefined && !("error" in vit)) {
    top["backend"] = vit["backend"]
    top["vitTiTrainImgPerSec"] = vit["trainStepImgPerSec"]
    top["vitTiForwardImgPerSec"] = vit["forwardImgPerSec"]
  }
  const evaluation = results["evaluation"] as Record<string, unknown> | undefined
  if (evaluation !== undefined && !("error" in evaluation)) {
    top["evaluationInProcessSeconds"] = evaluation["inProcessSeconds"]
    top["evaluationPooledSeconds"] = evaluation["pooledSeconds"]
    top["evaluationSpeedup"] = evaluation["speedup"]
    top["evaluationIdenticalScores"] = evaluation["identicalScores"]
  }
  const speed = results["speed"] as Record<string, unknown> | undefined
  if (speed !== undefined && !("error" in speed)) {
    for (const k of ["backend", "vitTiTrainImgPerSec", "vitTiForwardImgPerSec", "torchVitTiTrainImgPerSec", "torchBf16VitTiTrainImgPerSec", "ratioVsTorch"]) {
      if (k in speed) top[k] = speed[k]
    }
  }
  return top
}
if (json) console.log(JSON.stringify({ ...headline(), node: process.version, cpus: (await import("node:os")).cpus().length, results }))
process.exitCode = failed > 0 ? 1 : 0
