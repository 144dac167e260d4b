/**
 * The cluster end to end, with real processes: a throw-away PostgreSQL
 * (postgres.ts), runner processes (`ssl-kd runner`, jobs leased for 5 s) and
 * clustered runs (`ssl-kd run --cluster`) sharing one store folder: two
 * runners through a local cache of their own (`--remote-store`), one in it. Every
 * execution of a test stage appends "<pid> <what>" to a log, so "computed
 * once" is counted, not assumed. Skipped, saying why, where PostgreSQL is
 * not installed.
 */
import { spawn, type ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { BIN, REPO } from "../project.ts"
import { pipelineSource } from "./pipelineSource.ts"
import { findPostgres, startPostgres, type Postgres } from "./postgres.ts"

const found = findPostgres()
if ("missing" in found) console.warn(`cluster tests skipped: ${found.missing}`)


/** The pipeline files of the tests: each re-exports one pipeline of pipeline.ts as its default. */
const PIPELINES = ["failing", "overlap", "restart", "watched", "odd", "training", "gpu", "talking", "lapsed"] as const

interface Proc {
  readonly child: ChildProcess
  stderr: string
  stdout: string
  readonly exited: Promise<number | null>
}

const start = (args: ReadonlyArray<string>, options: { readonly cwd?: string; readonly bin?: string } = {}): Proc => {
  const child = spawn(process.execPath, [options.bin ?? BIN, ...args], { cwd: options.cwd ?? REPO, env: { ...process.env, SSL_KD_POOL: undefined }, stdio: ["ignore", "pipe", "pipe"] })
  const proc: Proc = { child, stderr: "", stdout: "", exited: new Promise((resolve) => child.once("exit", (code) => resolve(code))) }
  child.stderr!.on("data", (d: Buffer) => (proc.stderr += d.toString()))
  child.stdout!.on("data", (d: Buffer) => (proc.stdout += d.toString()))
  return proc
}

/** A runner on the shared store, or with `local` its own cache folder reading through to the shared store (`--remote-store`). */
const startRunner = (url: string, store: string, options: { readonly cwd?: string; readonly bin?: string; readonly slots?: string; readonly local?: string } = {}) =>
  start(
    ["runner", "--cluster", url, "--slots", options.slots ?? "cpu=1", ...(options.local === undefined ? ["--cache-dir", store] : ["--cache-dir", options.local, "--remote-store", store]), "--lease-seconds", "5", "--backend", "cpu"],
    options,
  )

const stopAll = async (procs: ReadonlyArray<Proc>) => {
  for (const r of procs) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill("SIGTERM")
  await Promise.all(procs.map((r) => Promise.race([r.exited, new Promise((res) => setTimeout(res, 8000))])))
  for (const r of procs) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill("SIGKILL")
}

const waitFor = async (what: string, check: () => boolean, timeoutMs: number, explain: () => string) => {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${explain()}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

interface RunJson {
  ok: boolean
  stages: Array<{ name: string; status: string; error?: { _tag: string; message: string } }>
}

interface Status {
  runners: Array<{ name: string; address: string; slots: Record<string, number>; lost: boolean; running: Array<{ node: string; key: string }> }>
  queued: Array<{ node: string; key: string }>
  running: Array<{ node: string; key: string; runner: string | null; attempts: number }>
  completed: number
  failed: number
  retaken: number
  unprocessedMessages: number
}

/** Every entry's manifest text (entries/<k0k1>/<key>/manifest.json) in the store at `root`, by key. */
const manifestsOf = (root: string): Map<string, string> =>
  new Map(
    (fs.existsSync(path.join(root, "entries")) ? fs.readdirSync(path.join(root, "entries")) : []).flatMap((shard) =>
      fs.readdirSync(path.join(root, "entries", shard)).map((key) => [key, fs.readFileSync(path.join(root, "entries", shard, key, "manifest.json"), "utf8")] as const),
    ),
  )

const runnerPidOf = (name: string) => Number(/\(pid (\d+)\)/.exec(name)?.[1])

describe.skipIf("missing" in found)("cluster (PostgreSQL, runner processes, a shared store)", () => {
  let pg: Postgres
  let dir: string
  let store: string
  let log: string
  const runners: Array<Proc> = []

  beforeAll(async () => {
    pg = await startPostgres()
    fs.mkdirSync(path.join(REPO, "test", ".tmp"), { recursive: true })
    dir = fs.mkdtempSync(path.join(REPO, "test", ".tmp", "cluster-"))
    store = path.join(dir, "store")
    log = path.join(dir, "executions.log")
    fs.writeFileSync(path.join(dir, "pipeline.ts"), pipelineSource(log))
    for (const name of PIPELINES) fs.writeFileSync(path.join(dir, `${name}.ts`), `export { ${name} as default } from "./pipeline.ts"\n`)
    // runners 0 and 1 keep their own local cache in front of the shared store (as on separate machines); runner 2 works in the shared folder itself
    for (let i = 0; i < 3; i++) runners.push(startRunner(pg.url, store, i < 2 ? { local: path.join(dir, `runner-${i}-cache`) } : {}))
    await waitFor("3 runners to join", () => runners.every((r) => r.stdout.includes("Listening on")), 60_000, () => runners.map((r) => r.stderr).join("\n---\n"))
  }, 120_000)

  afterAll(async () => {
    await stopAll(runners)
    await pg?.stop()
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true })
  })

  const explain = () => runners.map((r) => `runner ${r.child.pid}:\n${r.stderr.slice(-3000)}`).join("\n---\n")

  const cli = (file: string, ...extra: Array<string>) => start(["run", path.relative(REPO, path.join(dir, file)), "--cluster", pg.url, "--cache-dir", store, "--json", "--quiet", ...extra])
  const finish = async (proc: Proc) => {
    const code = await proc.exited
    return { code, json: JSON.parse(proc.stdout.trim().split("\n")[0] ?? "{}") as RunJson, stderr: proc.stderr }
  }
  const runFile = async (file: string, ...extra: Array<string>) => finish(cli(file, ...extra))
  const run = async (...extra: Array<string>) => runFile("pipeline.ts", ...extra)

  const status = async (): Promise<Status> => {
    const p = start(["cluster", "status", "--cluster", pg.url, "--json"])
    const code = await p.exited
    expect(code, p.stderr).toBe(0)
    return JSON.parse(p.stdout) as Status
  }

  /** Nothing queued, nothing held, every engine message processed (it may take the engine a moment to mark the last ones). */
  const expectIdle = async () => {
    let s = await status()
    const deadline = Date.now() + 30_000
    while ((s.queued.length > 0 || s.running.length > 0 || s.unprocessedMessages > 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000))
      s = await status()
    }
    expect(s.queued).toEqual([])
    expect(s.running).toEqual([])
    expect(s.unprocessedMessages).toBe(0)
    return s
  }

  const executions = (): Array<{ pid: number; what: string }> =>
    (fs.existsSync(log) ? fs.readFileSync(log, "utf8") : "")
      .trim()
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => {
        const i = l.indexOf(" ")
        return { pid: Number(l.slice(0, i)), what: l.slice(i + 1) }
      })
  const countOf = (what: string) => executions().filter((e) => e.what === what).length

  it("a fan-out of 6 items runs on the runners, spread over >= 2 of them, each item computed once; a rerun is all cached", async () => {
    const first = await run()
    expect(first.code, first.stderr + explain()).toBe(0)
    expect(first.json.ok).toBe(true)
    expect(first.json.stages.filter((s) => s.status === "ran").map((s) => s.name).sort()).toEqual(["items[a]", "items[b]", "items[c]", "items[d]", "items[e]", "items[f]", "total"])
    const ran = executions().filter((e) => /^\d+$/.test(e.what))
    expect(ran.map((e) => Number(e.what)).sort()).toEqual([1, 2, 3, 4, 5, 6])
    const runnerPids = new Set(runners.map((r) => r.child.pid))
    expect(ran.every((e) => runnerPids.has(e.pid))).toBe(true)
    expect(new Set(ran.map((e) => e.pid)).size).toBeGreaterThanOrEqual(2)
    expect(countOf("total 210")).toBe(1)
    // the runners committed the entries to the shared store: a second run serves everything from it
    const second = await run()
    expect(second.code).toBe(0)
    expect(second.json.stages.every((s) => s.status === "cached")).toBe(true)
    expect(executions()).toHaveLength(7)
    // the runners with a local cache committed there and to the shared store: the same manifests
    const shared = manifestsOf(store)
    const cached = [0, 1].map((i) => manifestsOf(path.join(dir, `runner-${i}-cache`)))
    expect(cached.reduce((n, m) => n + m.size, 0), explain()).toBeGreaterThanOrEqual(1)
    // (an input a runner copied from the shared store is re-serialized: the same fields, maybe in another order)
    for (const m of cached) for (const [key, manifest] of m) expect(JSON.parse(manifest)).toEqual(JSON.parse(shared.get(key) ?? "null"))
    // each job was taken once (a lapsed lease would show as a second attempt)
    const s = await expectIdle()
    expect(s.completed).toBe(7)
    expect(s.retaken).toBe(0)
  }, 120_000)

  it("--force recomputes on the cluster: a new generation of each forced key (not a join of the succeeded one), its entry replaced", async () => {
    const before = executions().length
    const manifests = () => manifestsOf(store)
    const firstManifests = manifests()
    const forced = await run("--force", "items")
    expect(forced.code, forced.stderr + explain()).toBe(0)
    expect(forced.json.stages.filter((s) => s.status === "ran").map((s) => s.name).sort()).toEqual(["items[a]", "items[b]", "items[c]", "items[d]", "items[e]", "items[f]", "total"])
    expect(executions().slice(before).map((e) => e.what).sort()).toEqual(["1", "2", "3", "4", "5", "6", "total 210"])
    const replaced = [...manifests()].filter(([key, text]) => firstManifests.has(key) && firstManifests.get(key) !== text)
    expect(replaced).toHaveLength(7) // the 7 forced entries, with new timings
    const again = await run()
    expect(again.json.stages.every((s) => s.status === "cached")).toBe(true)
    await expectIdle()
  }, 120_000)

  it("a run shows the progress and every log line of a stage running on a runner", async () => {
    const p = start(["run", path.relative(REPO, path.join(dir, "talking.ts")), "--cluster", pg.url, "--cache-dir", store])
    const code = await p.exited
    expect(code, p.stderr + explain()).toBe(0)
    for (let i = 1; i <= 4; i++) expect(p.stderr, p.stderr).toContain(`[chat] did step ${i}`)
    expect(p.stderr, p.stderr).toMatch(/\[chat\].* [1-4]\/4/) // a progress line relayed from the runner's registry row
  }, 120_000)

  it("a stage failure arrives with its own error tag; a later run retries it (the next generation of its key)", async () => {
    const before = countOf("7")
    const first = await runFile("failing.ts")
    expect(first.code).toBe(1)
    const failed = first.json.stages.find((s) => s.name === "broken[g]")
    expect(failed?.status).toBe("failed")
    expect(failed?.error?.message).toContain("ItemBroken: item 7 is broken")
    expect(countOf("7")).toBe(before + 1)
    const second = await runFile("failing.ts")
    expect(second.code).toBe(1)
    expect(second.json.stages.find((s) => s.name === "broken[g]")?.error?.message).toContain("ItemBroken")
    // retried, not served the first failure
    expect(countOf("7")).toBe(before + 2)
  }, 120_000)

  it("two overlapping runs of one pipeline: every shared stage runs once, both runs succeed", async () => {
    const a = cli("overlap.ts")
    await new Promise((r) => setTimeout(r, 300))
    const b = cli("overlap.ts")
    const [ra, rb] = await Promise.all([finish(a), finish(b)])
    expect(ra.code, ra.stderr + explain()).toBe(0)
    expect(rb.code, rb.stderr).toBe(0)
    for (const r of [ra, rb]) expect(r.json.stages.map((s) => s.status).every((st) => st === "ran" || st === "cached")).toBe(true)
    for (const x of [21, 22, 23, 24]) expect(countOf(String(x)), `item ${x}`).toBe(1)
    expect(countOf("total 900")).toBe(1)
    expect((await expectIdle()).retaken).toBe(0)
  }, 120_000)

  it("a run killed (SIGKILL) while its stages run, then restarted: nothing is computed twice, the restarted run succeeds", async () => {
    const xs = [31, 32, 33, 34, 35, 36]
    const first = cli("restart.ts")
    await waitFor("the first items to start on the runners", () => xs.some((x) => countOf(String(x)) > 0), 90_000, () => first.stderr + explain())
    first.child.kill("SIGKILL")
    await first.exited
    const startedBefore = xs.filter((x) => countOf(String(x)) > 0).length
    expect(startedBefore).toBeLessThan(6) // killed mid-run: some items had not started
    const second = await runFile("restart.ts")
    expect(second.code, second.stderr + explain()).toBe(0)
    for (const x of xs) expect(countOf(String(x)), `item ${x}`).toBe(1)
    expect(countOf(`total ${xs.reduce((a, b) => a + b, 0) * 10}`)).toBe(1)
    await expectIdle()
  }, 150_000)

  it("cluster status lists the runners with their slots, and the queued and running stages with the runner holding each", async () => {
    const idle = await status()
    expect(idle.runners.map((r) => runnerPidOf(r.name)).sort((a, b) => a - b)).toEqual(runners.map((r) => r.child.pid!).sort((a, b) => a - b))
    expect(idle.runners.every((r) => r.slots["cpu"] === 1 && !r.lost && r.running.length === 0)).toBe(true)
    const p = cli("watched.ts")
    // Poll until a snapshot shows the three runners busy and the two other items waiting: the items hold
    // their slots until the release file exists, so this state lasts until the test has seen it.
    let seen: Status | undefined
    const deadline = Date.now() + 120_000
    while (seen === undefined && p.child.exitCode === null && Date.now() < deadline) {
      const s = await status()
      // never more stages on a runner than its slots
      for (const r of s.runners) expect(r.running.length, JSON.stringify(s)).toBeLessThanOrEqual(r.slots["cpu"] ?? 0)
      expect(s.running.length).toBeLessThanOrEqual(3)
      const consistent = s.running.every((j) => s.runners.find((r) => r.name === j.runner)?.running.some((x) => x.key === j.key) === true)
      if (s.running.length === 3 && s.queued.length === 2 && consistent) seen = s
    }
    fs.writeFileSync(`${log}.release`, "") // lets the held items finish, whatever was seen
    expect(seen, `no snapshot with 3 running and 2 queued:\n${p.stderr}${explain()}`).toBeDefined()
    const s = seen!
    const items = (xs: ReadonlyArray<{ node: string }>) => xs.map((j) => j.node).sort()
    expect([...items(s.running), ...items(s.queued)].sort()).toEqual(["items[i41]", "items[i42]", "items[i43]", "items[i44]", "items[i45]"])
    // every running stage is held by one of our runners, each of which says it runs that stage (one slot each)
    for (const j of s.running) {
      const holder = s.runners.find((r) => r.name === j.runner)
      expect(holder, JSON.stringify(s)).toBeDefined()
      expect(holder!.running.map((x) => x.key)).toEqual([j.key])
    }
    expect(new Set(s.running.map((j) => j.runner)).size).toBe(3)
    const done = await finish(p)
    expect(done.code, done.stderr).toBe(0)
    // the human form says the same
    const human = start(["cluster", "status", "--cluster", pg.url])
    await human.exited
    expect(human.stdout).toContain("runners: 3")
    expect(human.stdout).toContain("cpu=1")
    expect(human.stdout).toContain("queued: 0")
    await expectIdle()
  }, 240_000)

  it("a stage declared resource: \"gpu\" waits queued until a runner with a gpu slot joins and runs only there; cpu stages never go to that runner", async () => {
    const p = cli("gpu.ts")
    let queued: Status | undefined
    const deadline = Date.now() + 60_000
    while (queued === undefined && Date.now() < deadline) {
      const s = await status()
      if (["g[a]", "g[b]"].every((n) => s.queued.some((j) => j.node === n)) && countOf("63") + countOf("64") === 2) queued = s
      else await new Promise((r) => setTimeout(r, 200))
    }
    expect(queued, `the gpu items were not seen queued while the cpu items ran:\n${p.stderr}${explain()}`).toBeDefined()
    expect(countOf("gpu 61") + countOf("gpu 62")).toBe(0) // no cpu runner took them
    const gpuRunner = startRunner(pg.url, store, { slots: "gpu=1" })
    try {
      await waitFor("the gpu runner to join", () => gpuRunner.stdout.includes("Listening on"), 60_000, () => gpuRunner.stderr)
      const done = await finish(p)
      expect(done.code, done.stderr + gpuRunner.stderr).toBe(0)
      const where = (what: string) => executions().filter((e) => e.what === what).map((e) => e.pid)
      expect([...where("gpu 61"), ...where("gpu 62")]).toEqual([gpuRunner.child.pid, gpuRunner.child.pid])
      const cpuPids = new Set(runners.map((r) => r.child.pid))
      expect([...where("63"), ...where("64")].every((pid) => cpuPids.has(pid))).toBe(true)
      const s = await status()
      expect(s.runners.find((r) => runnerPidOf(r.name) === gpuRunner.child.pid)?.slots).toEqual({ gpu: 1 })
    } finally {
      await stopAll([gpuRunner])
    }
    await expectIdle()
  }, 180_000)

  it("SIGKILL of the runner training a stage after its second checkpoint: the run succeeds, the stage resumes at epoch >= 2 on another runner, the store verifies, no work is left", async () => {
    const p = cli("training.ts")
    let victim: Proc | undefined
    await waitFor(
      "the second epoch's checkpoint",
      () => (victim ??= runners.find((r) => r.child.exitCode === null && /train: epoch 2\/4: .*\(checkpointed\)/.test(r.stderr))) !== undefined,
      120_000,
      () => p.stderr + explain(),
    )
    victim!.child.kill("SIGKILL")
    await victim!.exited
    // it had not finished: the stage did not end there
    expect(executions().some((e) => e.pid === victim!.child.pid && e.what.startsWith("train start"))).toBe(false)
    const done = await finish(p)
    expect(done.code, done.stderr + explain()).toBe(0)
    expect(done.json.stages.find((s) => s.name === "train")?.status).toBe("ran")
    const trained = executions().filter((e) => e.what.startsWith("train start"))
    expect(trained).toHaveLength(1)
    expect(trained[0]!.pid).not.toBe(victim!.child.pid)
    expect(runners.some((r) => r.child.pid === trained[0]!.pid)).toBe(true)
    expect(Number(trained[0]!.what.split(" ")[2])).toBeGreaterThanOrEqual(2)
    const resumer = runners.find((r) => r.child.pid === trained[0]!.pid)!
    expect(resumer.stderr).toMatch(/train: resuming at epoch [34] of 4/)
    // the entry has every epoch's loss: the restored ones and those run after the kill
    const entry = JSON.parse(fs.readFileSync(path.join(store, "out", "cluster-test-train", "train", "value.json"), "utf8")) as { epochLosses: Array<number>; stepLosses: Array<number> }
    expect(entry.epochLosses).toHaveLength(4)
    expect(entry.stepLosses).toHaveLength(12)
    const verify = start(["cache", "verify", "--cache-dir", store, "--json"])
    expect(await verify.exited, verify.stderr).toBe(0)
    expect((JSON.parse(verify.stdout) as { corrupt: number }).corrupt).toBe(0)
    await expectIdle()
    // the killed runner stays listed until its row ages, then as lost; the others are live
    let s = await status()
    while (s.runners.some((r) => runnerPidOf(r.name) === victim!.child.pid && !r.lost)) s = await status()
    expect(s.runners.filter((r) => !r.lost).map((r) => runnerPidOf(r.name)).sort((a, b) => a - b)).toEqual(runners.filter((r) => r !== victim).map((r) => r.child.pid!).sort((a, b) => a - b))
    // the training job was taken twice (the victim, then the resumer); no other job of this suite was taken again
    expect(s.retaken).toBe(1)
  }, 180_000)

  it("a runner whose lease lapsed while it was alive (SIGSTOP past the lease, then SIGCONT) stops its attempt (LeaseLost): the stage ends once, on the runner that took it over", async () => {
    const live = runners.filter((r) => r.child.exitCode === null && r.child.signalCode === null)
    expect(live.length).toBeGreaterThanOrEqual(2)
    const mark = new Map(live.map((r) => [r, r.stderr.length]))
    const since = (r: Proc) => r.stderr.slice(mark.get(r) ?? 0)
    const before = executions().length
    const p = cli("lapsed.ts")
    let victim: Proc | undefined
    await waitFor("the first epoch's checkpoint", () => (victim ??= live.find((r) => /train: epoch 1\/4: .*\(checkpointed\)/.test(since(r)))) !== undefined, 120_000, () => p.stderr + explain())
    victim!.child.kill("SIGSTOP")
    try {
      await waitFor("another runner to take the job over", () => live.some((r) => r !== victim && /train: resuming at epoch/.test(since(r))), 60_000, () => p.stderr + explain())
    } finally {
      victim!.child.kill("SIGCONT")
    }
    const done = await finish(p)
    expect(done.code, done.stderr + explain()).toBe(0)
    await waitFor("the victim to stop its attempt", () => /failed: LeaseLost: .*stopped its attempt at train/.test(since(victim!)), 30_000, () => since(victim!))
    expect(since(victim!)).toMatch(/waiting for the runner that took it over/)
    const trained = executions().slice(before).filter((e) => e.what.startsWith("train start"))
    expect(trained.map((e) => e.pid), since(victim!)).toHaveLength(1) // the lapsed attempt never finished the stage
    expect(trained[0]!.pid).not.toBe(victim!.child.pid)
    const verify = start(["cache", "verify", "--cache-dir", store, "--json"])
    expect(await verify.exited, verify.stderr).toBe(0)
    expect((JSON.parse(verify.stdout) as { corrupt: number }).corrupt).toBe(0)
    await expectIdle()
  }, 180_000)
})

describe.skipIf("missing" in found)("cluster: a runner on another checkout", () => {
  it("is refused with CodeFingerprintMismatch (not retried), and the stage never runs there; a stage whose data or user plugin differs there is refused (DatasetMismatch, PluginFingerprintMismatch) until they agree", async () => {
    const pg = await startPostgres()
    const dir = fs.mkdtempSync(path.join(REPO, "test", ".tmp", "cluster-odd-"))
    const procs: Array<Proc> = []
    try {
      const rel = path.relative(REPO, dir)
      const log = path.join(dir, "executions.log")
      const store = path.join(dir, "store")
      const dataFile = path.join(rel, "data.txt")
      fs.writeFileSync(path.join(dir, "pipeline.ts"), pipelineSource(log, 10, dataFile))
      fs.writeFileSync(path.join(dir, "odd.ts"), `export { odd as default } from "./pipeline.ts"\n`)
      fs.writeFileSync(path.join(dir, "reading.ts"), `export { reading as default } from "./pipeline.ts"\n`)
      fs.writeFileSync(path.join(dir, "data.txt"), "planned\n")
      const pluginSource = (v: number) => `import { Effect } from "effect"\nimport { shapes } from "./pipeline.ts"\nEffect.runSync(shapes.register("my-shape", ${v}))\n`
      fs.writeFileSync(path.join(dir, "plugin.ts"), pluginSource(1))
      fs.writeFileSync(path.join(dir, "plugged.ts"), `import "./plugin.ts"\nexport { plugged as default } from "./pipeline.ts"\n`)
      // the other checkout: the same project, except that the item stage's code differs
      const other = path.join(dir, "checkout")
      fs.mkdirSync(path.join(other, rel), { recursive: true })
      for (const entry of fs.readdirSync(REPO)) if (entry !== "test" && entry !== ".git") fs.symlinkSync(path.join(REPO, entry), path.join(other, entry))
      fs.writeFileSync(path.join(other, rel, "pipeline.ts"), pipelineSource(log, 11, dataFile))
      fs.writeFileSync(path.join(other, rel, "data.txt"), "other\n") // the same path, other content
      fs.writeFileSync(path.join(other, rel, "plugin.ts"), pluginSource(2)) // the plugin registered on the same line, other code
      const runner = start(["runner", "--cluster", pg.url, "--slots", "cpu=1", "--cache-dir", store, "--lease-seconds", "5", "--backend", "cpu"], { cwd: other, bin: path.join(other, "bin", "ssl-kd.js") })
      procs.push(runner)
      await waitFor("the runner to join", () => runner.stdout.includes("Listening on"), 60_000, () => runner.stderr)
      expect(runner.stderr).toContain(`project ${other}`)
      const run = start(["run", path.join(rel, "odd.ts"), "--cluster", pg.url, "--cache-dir", store, "--json", "--quiet"])
      procs.push(run)
      const code = await run.exited
      expect(code, run.stderr + runner.stderr).toBe(1)
      const json = JSON.parse(run.stdout.trim().split("\n")[0]!) as RunJson
      const item = json.stages.find((s) => s.name === "items[i51]")
      expect(item?.status).toBe("failed")
      expect(item?.error?.message).toContain("CodeFingerprintMismatch")
      expect(item?.error?.message).toContain(`checkout ${other}`)
      expect(json.stages.find((s) => s.name === "total")?.error?._tag).toBe("UpstreamFailed")
      expect(runner.stderr).toMatch(/items\[i51\] \([0-9a-f]{12}\) failed: CodeFingerprintMismatch/)
      expect(fs.existsSync(log)).toBe(false) // the stage ran nowhere
      // refused once, not retried by the cluster
      expect(runner.stderr.match(/failed: CodeFingerprintMismatch/g)).toHaveLength(1)

      /** A clustered run of `file` (beside the pipeline) on this test's database and store. */
      const runThere = async (file: string) => {
        const p = start(["run", path.join(rel, file), "--cluster", pg.url, "--cache-dir", store, "--json", "--quiet"])
        procs.push(p)
        const code = await p.exited
        return { code, json: JSON.parse(p.stdout.trim().split("\n")[0]!) as RunJson, stderr: p.stderr }
      }
      // Same code (readsFile does not change between the checkouts), other data: refused with DatasetMismatch, the stage never runs.
      const readRun = () => runThere("reading.ts")
      const mismatch = await readRun()
      expect(mismatch.code, mismatch.stderr + runner.stderr).toBe(1)
      const r = mismatch.json.stages.find((s) => s.name === "r")
      expect(r?.error?.message).toContain("DatasetMismatch")
      expect(r?.error?.message).toContain(path.join(other, dataFile))
      expect(fs.existsSync(log)).toBe(false)
      // the runner given the same file: a later run retries the stage and it runs there
      fs.writeFileSync(path.join(other, rel, "data.txt"), "planned\n")
      const same = await readRun()
      expect(same.code, same.stderr + runner.stderr).toBe(0)
      expect(fs.readFileSync(log, "utf8").trim().split("\n").map((l) => l.slice(l.indexOf(" ") + 1))).toEqual(["read planned"])

      // Same stage code and data, other code of the user plugin its config names: PluginFingerprintMismatch, then it runs once they agree.
      const pluggedRun = () => runThere("plugged.ts")
      const otherPlugin = await pluggedRun()
      expect(otherPlugin.code, otherPlugin.stderr + runner.stderr).toBe(1)
      expect(otherPlugin.json.stages.find((s) => s.name === "p")?.error?.message).toContain('PluginFingerprintMismatch')
      expect(otherPlugin.json.stages.find((s) => s.name === "p")?.error?.message).toContain('shape "my-shape"')
      expect(fs.readFileSync(log, "utf8")).not.toContain("plugin")
      fs.writeFileSync(path.join(other, rel, "plugin.ts"), pluginSource(1))
      const samePlugin = await pluggedRun()
      expect(samePlugin.code, samePlugin.stderr + runner.stderr).toBe(0)
      expect(fs.readFileSync(log, "utf8")).toContain(" plugin 1\n")
    } finally {
      await stopAll(procs)
      await pg.stop()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }, 150_000)
})
