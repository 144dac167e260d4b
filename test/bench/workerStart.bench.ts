/**
 * Start-up of a pool worker thread (runtime/executor/pool/worker.mjs): time
 * from `new Worker` to its "ready" message (tsx registered, the worker main
 * and its imports loaded; a first job's backend set-up and stage module
 * import are not included). Workers start one at a time, so the
 * figure is one thread's, not a contended pair's.
 *
 *   node --import tsx test/bench/workerStart.bench.ts [--rounds N] [--entry FILE] [--json]
 *   npm run bench -- --only workerStart
 *
 * `--entry` times another entry file (e.g. an older worker.mjs copied beside
 * it) interleaved with the current one, for a before/after figure.
 */
import * as os from "node:os"
import { fileURLToPath, pathToFileURL } from "node:url"
import { Worker } from "node:worker_threads"

const args = process.argv.slice(2)
const option = (name: string): string | undefined => {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : undefined
}
const rounds = Number(option("--rounds") ?? 5)
const current = new URL("../../runtime/executor/pool/worker.mjs", import.meta.url)
const other = option("--entry")
const entries: Array<[string, URL]> = [["current", current], ...(other === undefined ? [] : ([["other", pathToFileURL(other)]] as Array<[string, URL]>))]

const startOnce = (entry: URL): Promise<number> =>
  new Promise((resolve, reject) => {
    const t0 = performance.now()
    const w = new Worker(entry, { workerData: { backend: { flag: "cpu" } } })
    w.on("message", (m: { type?: string }) => {
      if (m.type !== "ready") return
      const ms = performance.now() - t0
      void w.terminate().then(() => resolve(ms))
    })
    w.on("error", reject)
  })

const json = args.includes("--json")
const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const times = new Map<string, Array<number>>(entries.map(([n]) => [n, []]))
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(" ")
const say = (line: string) => (json ? process.stderr.write(`${line}\n`) : console.log(line))
say(`worker start-up: ${rounds} rounds, ${entries.map(([n, u]) => `${n} = ${fileURLToPath(u)}`).join(", ")}; load ${load()} on ${os.availableParallelism()} cpus`)
await startOnce(current) // warm the tsx transform cache and the OS file cache
for (let r = 0; r < rounds; r++) {
  for (const [name, url] of entries) times.get(name)!.push(await startOnce(url))
}
for (const [name, xs] of times) say(`${name.padEnd(8)} median ${median(xs).toFixed(0)} ms (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)})`)
say(`load after: ${load()}`)
if (json) console.log(JSON.stringify({ workerReadyMs: Math.round(median(times.get("current")!)), rounds, load: os.loadavg() }))
