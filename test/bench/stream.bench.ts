/**
 * Streaming ImageNet-layout reader benchmark (issue 13): on a generated tree
 * of JPEGs at ImageNet-like sizes (300-500 x 300-500 px, 100 classes, smooth
 * shapes plus noise, quality 90; built once under $TMPDIR/ssl-kd-bench-imagenet),
 *
 * - throughput of decode + RandomResizedCrop(224) + flip + normalization
 *   (`streamEpoch`, batch 64, prefetch 2) with 1 and 2 worker threads over
 *   `--measure` images;
 * - peak RSS of a process streaming a full epoch of `--small` images vs of
 *   `--images` images: flat when memory is bounded by the prefetch depth,
 *   not by the dataset size.
 *
 * Each measurement runs in its own process (fresh RSS).
 *
 *   node --import tsx test/bench/stream.bench.ts [--json] [--images 20000] [--small 2000] [--measure 1000]
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Effect } from "effect"
import sharp from "sharp"
import { indexImageFolder } from "../../plugins/datasets/stream/folderIndex.ts"
import { makeDecodePool } from "../../plugins/datasets/stream/pool.ts"
import { streamEpoch } from "../../plugins/datasets/stream/stream.ts"
import { Rng } from "../../plugins/datasets/prng.ts"

const argv = process.argv.slice(2)
const flag = (name: string, d: number) => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : d)
const json = argv.includes("--json")
const total = flag("--images", 20000)
const small = flag("--small", 2000)
const measure = flag("--measure", 1000)
const root = path.join(os.tmpdir(), "ssl-kd-bench-imagenet")
const CLASSES = 100

/** Writes image i of the tree (deterministic) unless it exists. */
const writeImage = async (i: number) => {
  const file = path.join(root, "train", `n${String(i % CLASSES).padStart(8, "0")}`, `img_${String(i).padStart(6, "0")}.JPEG`)
  if (fs.existsSync(file)) return
  const rng = Rng.derive(13, i)
  const [w, h] = [300 + rng.int(201), 300 + rng.int(201)]
  const base = sharp({ create: { width: w, height: h, channels: 3, background: { r: 0, g: 0, b: 0 }, noise: { type: "gaussian", mean: 120, sigma: 30 } } })
  const blob = Buffer.from(`<svg width="${w}" height="${h}"><circle cx="${rng.int(w)}" cy="${rng.int(h)}" r="${50 + rng.int(100)}" fill="rgb(${rng.int(256)},${rng.int(256)},${rng.int(256)})"/></svg>`)
  fs.mkdirSync(path.dirname(file), { recursive: true })
  await base.composite([{ input: blob }]).blur(1.5).jpeg({ quality: 90 }).toFile(file)
}

const ensureTree = async () => {
  const t0 = performance.now()
  for (let i = 0; i < total; i += 32) await Promise.all(Array.from({ length: Math.min(32, total - i) }, (_, k) => writeImage(i + k)))
  return (performance.now() - t0) / 1000
}

/** Child: stream `images` images of the tree with `workers` threads; print img/s and peak RSS. */
const child = async (images: number, workers: number) => {
  const full = await Effect.runPromise(indexImageFolder(root, "train", { cacheDir: path.join(root, ".index") }))
  const pick = Int32Array.from({ length: Math.min(images, full.files.length) }, (_, i) => Math.floor((i * full.files.length) / Math.min(images, full.files.length)))
  const index = { ...full, files: Array.from(pick, (i) => full.files[i] as string), labels: Int32Array.from(pick, (i) => full.labels[i] as number) }
  const pool = makeDecodePool(workers)
  const t0 = performance.now()
  let n = 0
  for await (const b of streamEpoch(index, pool, 0, { batchSize: 64, size: 224, channels: 3, mode: "train", normalization: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] }, prefetch: 2 })) n += b.labels.length
  const seconds = (performance.now() - t0) / 1000
  await pool.close()
  console.log(JSON.stringify({ images: n, workers, seconds, imgPerSec: n / seconds, peakRssMiB: process.resourceUsage().maxRSS / 1024 }))
}

const runChild = (images: number, workers: number) => {
  const r = spawnSync(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), "--child", String(images), String(workers)], { encoding: "utf8" })
  const line = r.stdout.trim().split("\n").filter((l) => l.startsWith("{")).pop()
  if (r.status !== 0 || line === undefined) throw new Error(`child failed: ${r.stderr.slice(-1000)}`)
  return JSON.parse(line) as { images: number; workers: number; seconds: number; imgPerSec: number; peakRssMiB: number }
}

if (argv[0] === "--child") await child(Number(argv[1]), Number(argv[2]))
else {
  const generateSeconds = await ensureTree()
  const one = runChild(measure, 1)
  const two = runChild(measure, 2)
  const rssSmall = runChild(small, 2)
  const rssLarge = runChild(total, 2)
  const load = os.loadavg().map((x) => x.toFixed(2)).join(" ")
  const result = {
    tree: { images: total, classes: CLASSES, root, generateSeconds },
    throughput: { oneWorkerImgPerSec: one.imgPerSec, twoWorkersImgPerSec: two.imgPerSec, images: measure },
    peakRss: { smallImages: rssSmall.images, smallMiB: rssSmall.peakRssMiB, largeImages: rssLarge.images, largeMiB: rssLarge.peakRssMiB, largeSeconds: rssLarge.seconds },
    cpus: os.cpus().length,
    loadavg: load,
  }
  if (json) console.log(JSON.stringify(result))
  else {
    console.log(`tree: ${total} JPEGs in ${CLASSES} classes (${root}; generated in ${generateSeconds.toFixed(0)} s)`)
    console.log(`decode + RandomResizedCrop(224) + flip, ${measure} images: 1 worker ${one.imgPerSec.toFixed(1)} img/s, 2 workers ${two.imgPerSec.toFixed(1)} img/s`)
    console.log(`peak RSS streaming a full epoch: ${rssSmall.images} images ${rssSmall.peakRssMiB.toFixed(0)} MiB, ${rssLarge.images} images ${rssLarge.peakRssMiB.toFixed(0)} MiB`)
    console.log(`(${os.cpus().length} CPUs, load average ${load})`)
  }
}
