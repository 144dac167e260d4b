/**
 * The `imagenet` scale end to end on a generated miniature (issue 13): every
 * stage of `pipelines/paper.ts` at 224 px with ViT-B/16 DINO and MAE teachers
 * loaded from random checkpoints in the official `.pth` layouts
 * (`dino_vitbase16_pretrain.pth`: a plain state dict; `mae_pretrain_vit_base.pth`:
 * `{"model": ...}` with the decoder, which loading drops), a ViT-Ti/16
 * student, an ImageNet-layout JPEG tree and CIFAR-10/100 binaries, all
 * generated in a temp folder. Runs `ssl-kd run pipelines/paper.ts --preset
 * imagenet-mini` (the imagenet scale's stages, architectures, files and
 * datasets with one epoch of everything and small batches) as a user would,
 * every stage in the worker pool, two at a time (`--workers N`), and prints the time, the stage count, the
 * run's peak resident memory and the report's location. The
 * weights are random, so the scores say nothing; the point is that every
 * stage runs at the paper's shapes before anyone spends GPU hours.
 *
 *   npm run bench -- --only imagenet-mini [--keep] [--workers N]
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import sharp from "sharp"
import { Effect } from "effect"
import { Rng } from "../../plugins/datasets/prng.ts"
import { selectBackend } from "../../runtime/backend/TensorBackend.ts"
import { createVit, disposeVit } from "../../plugins/models/vit/model.ts"
import { models } from "../../plugins/models/variants.ts"
import { type PthTensor, writePth } from "../fixtures/pth/pthWriter.ts"

const argv = process.argv.slice(2)
const json = argv.includes("--json")
const keep = argv.includes("--keep")
const REPO = fileURLToPath(new URL("../../", import.meta.url))
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ssl-kd-imagenet-mini-"))
const data = path.join(dir, "data")
const log = (s: string) => (json ? process.stderr : process.stdout).write(`${s}\n`)

// Three ImageNet classes; each a hue and a shape, so the classes are learnable.
const WNIDS = ["n01440764", "n01443537", "n01484850"]
const PER_CLASS = { train: 8, val: 4 } as const

const writeImage = async (split: "train" | "val", c: number, i: number) => {
  const rng = Rng.derive(17, c * 1000 + i + (split === "val" ? 500 : 0))
  const [w, h] = [240 + rng.int(120), 240 + rng.int(120)]
  const hue = [[200, 60, 50], [50, 170, 60], [60, 80, 210]][c]!
  const shape = c === 1 ? `<rect x="${rng.int(Math.floor(w / 2))}" y="${rng.int(Math.floor(h / 2))}" width="${Math.floor(w / 3)}" height="${Math.floor(h / 3)}"` : `<circle cx="${Math.floor(w / 4) + rng.int(Math.floor(w / 2))}" cy="${Math.floor(h / 4) + rng.int(Math.floor(h / 2))}" r="${40 + rng.int(60)}"`
  const svg = Buffer.from(`<svg width="${w}" height="${h}">${shape} fill="rgb(${hue.join(",")})"/></svg>`)
  const file = path.join(data, "imagenet", split, WNIDS[c]!, `${split}_${String(c * 100 + i).padStart(8, "0")}.JPEG`)
  fs.mkdirSync(path.dirname(file), { recursive: true })
  await sharp({ create: { width: w, height: h, channels: 3, background: { r: 128, g: 128, b: 128 }, noise: { type: "gaussian", mean: 128, sigma: 25 } } })
    .composite([{ input: svg }])
    .jpeg({ quality: 90 })
    .toFile(file)
}

/** CIFAR binary records: label byte(s) then 3072 bytes (R, G, B planes of 32 x 32). */
const cifarFile = (file: string, records: number, labelBytes: 1 | 2, classes: number, seed: number) => {
  const rng = Rng.derive(seed, records)
  const rec = labelBytes + 3072
  const b = new Uint8Array(records * rec)
  for (let r = 0; r < records; r++) {
    const label = r % classes
    if (labelBytes === 2) b[r * rec] = label % 20
    b[r * rec + labelBytes - 1] = label
    for (let p = 0; p < 3072; p++) b[r * rec + labelBytes + p] = (label * 37 + (p >> 10) * 60 + rng.int(40)) & 255
  }
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, b)
}

/** A random ViT-B/16 backbone (no head) under timm names, which the official DINO and MAE files use. */
const backbone = (seed: number): Record<string, PthTensor> => {
  const config = Effect.runSync(models.resolve("vitBasePatch16_224", { numClasses: 0 }))
  const model = createVit("vitBasePatch16_224", config, seed)
  const out: Record<string, PthTensor> = {}
  for (const [name, v] of model.params) out[name] = { shape: v.shape, data: v.dataSync() as Float32Array }
  disposeVit(model)
  return out
}

await Effect.runPromise(selectBackend({}))
const t0 = performance.now()
for (const [c] of WNIDS.entries()) {
  for (let i = 0; i < PER_CLASS.train; i++) await writeImage("train", c, i)
  for (let i = 0; i < PER_CLASS.val; i++) await writeImage("val", c, i)
}
for (let k = 1; k <= 5; k++) cifarFile(path.join(data, "cifar-10-batches-bin", `data_batch_${k}.bin`), 4, 1, 10, k)
cifarFile(path.join(data, "cifar-10-batches-bin", "test_batch.bin"), 10, 1, 10, 9)
cifarFile(path.join(data, "cifar-100-binary", "train.bin"), 20, 2, 10, 11)
cifarFile(path.join(data, "cifar-100-binary", "test.bin"), 10, 2, 10, 12)
fs.mkdirSync(path.join(dir, "checkpoints"))
writePth(path.join(dir, "checkpoints", "dino_vitbase16_pretrain.pth"), backbone(1))
const small = (shape: Array<number>, seed: number): PthTensor => {
  const rng = Rng.derive(seed, 0)
  return { shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.float() * 0.02 - 0.01) }
}
writePth(path.join(dir, "checkpoints", "mae_pretrain_vit_base.pth"), {
  model: {
    ...backbone(2),
    mask_token: small([1, 1, 512], 3),
    "decoder_embed.weight": small([512, 768], 4),
    "decoder_embed.bias": small([512], 5),
    "decoder_pred.weight": small([768, 512], 6),
    "decoder_pred.bias": small([768], 7),
  },
})
const generateSeconds = (performance.now() - t0) / 1000
log(`miniature in ${dir}: ${WNIDS.length} classes x ${PER_CLASS.train}+${PER_CLASS.val} JPEGs, CIFAR-10/100 binaries, ViT-B/16 .pth checkpoints (${generateSeconds.toFixed(0)} s)`)

const workersArg = argv.indexOf("--workers")
const workers = workersArg === -1 ? 2 : Number(argv[workersArg + 1])
if (!Number.isInteger(workers) || workers < 1) throw new Error(`--workers expects a whole number >= 1, got ${argv[workersArg + 1]}`)

/** Resident memory of a live process (bytes), from /proc (Linux); undefined elsewhere or once it has ended. */
const rssOf = (pid: number): number | undefined => {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))
    return m === null ? undefined : Number(m[1]) * 1024
  } catch {
    return undefined
  }
}

const t1 = performance.now()
// Every stage in the worker pool, `workers` at a time: in one process (the default, or --workers 1) the
// independent ViT-B stages all run at once. The run's resident memory (main thread and its workers: one
// process) is sampled every second; its peak is printed.
const child = spawn(
  process.execPath,
  [path.join(REPO, "bin", "ssl-kd.js"), "run", path.join(REPO, "pipelines", "paper.ts"), "--preset", "imagenet-mini", "--data-dir", data, "--cache-dir", path.join(dir, "cache"), "--workers", String(workers), "--json"],
  { cwd: dir, stdio: ["ignore", "pipe", json ? "pipe" : "inherit"], env: { ...process.env, SSL_KD_POOL: "all" } },
)
let peakRss = 0
const sampler = setInterval(() => {
  const rss = child.pid === undefined ? undefined : rssOf(child.pid)
  if (rss !== undefined && rss > peakRss) peakRss = rss
}, 1000)
let stdout = ""
child.stdout!.on("data", (d: Buffer) => (stdout += d.toString("utf8")))
if (json) child.stderr!.resume()
const status = await new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)))
clearInterval(sampler)
const run = { status, stdout }
const runSeconds = (performance.now() - t1) / 1000
const last = run.stdout.trim().split("\n").filter((l) => l.startsWith("{")).pop()
const result = last === undefined ? undefined : (JSON.parse(last) as { stages?: Array<{ name: string; status: string; error?: { _tag: string; message: string } }> })
const stages = result?.stages ?? []
const failed = stages.filter((s) => s.status === "failed")
const summary = {
  generateSeconds: Number(generateSeconds.toFixed(1)),
  runSeconds: Number(runSeconds.toFixed(1)),
  stages: stages.length,
  ran: stages.filter((s) => s.status === "ran").length,
  failed: failed.map((s) => `${s.name}: ${s.error?._tag ?? "?"} ${s.error?.message ?? ""}`.slice(0, 300)),
  exitCode: run.status,
  workers,
  peakRssGiB: Number((peakRss / 2 ** 30).toFixed(2)),
  cpus: os.cpus().length,
  loadAverage: os.loadavg().map((x) => Number(x.toFixed(2))),
}
if (json) console.log(JSON.stringify(summary))
else {
  log(`imagenet-mini: ${summary.ran} of ${summary.stages} stages ran in ${runSeconds.toFixed(0)} s with ${workers} pool worker(s), peak RSS ${summary.peakRssGiB} GiB (exit ${run.status}; ${summary.cpus} cores, load ${summary.loadAverage.join(" ")})`)
  for (const f of summary.failed) log(`  failed: ${f}`)
  log(`report: ${path.join(dir, "cache", "out", "paper-imagenet-mini", "report", "report.html")}`)
}
if (!keep && run.status === 0) fs.rmSync(dir, { recursive: true, force: true })
process.exitCode = run.status === 0 && failed.length === 0 ? 0 : 1
