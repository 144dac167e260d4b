/**
 * `npm run bench`: runs every benchmark script in its own process (so each
 * measures a fresh tfjs engine) and prints their figures; `--json` prints one
 * object keyed by benchmark. Scripts: pipeline engine overhead, data loader
 * throughput, ViT-Ti forward/train-step throughput.
 *
 *   npm run bench [-- --json] [-- --only pipeline,datasets]
 */
import { spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"

const argv = process.argv.slice(2)
const json = argv.includes("--json")
const onlyAt = argv.indexOf("--only")
const only = onlyAt >= 0 ? new Set((argv[onlyAt + 1] ?? "").split(",")) : undefined

const benches = ["pipeline", "datasets", "vit", "speed"] as const
const results: Record<string, unknown> = {}
let failed = 0
for (const name of benches) {
  if (only !== undefined && !only.has(name)) continue
  const file = fileURLToPath(new URL(`./${name}.bench.ts`, import.meta.url))
  if (!existsSync(file)) continue
  if (!json) console.log(`\n== ${name} ==`)
  const r = spawnSync(process.execPath, ["--import", "tsx", file, ...(json ? ["--json"] : [])], {
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
if (json) console.log(JSON.stringify({ node: process.version, cpus: (await import("node:os")).cpus().length, results }))
process.exitCode = failed > 0 ? 1 : 0
