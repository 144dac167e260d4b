/**
 * The cluster end to end, with real processes: a throw-away PostgreSQL
 * (postgres.ts), runner processes (`ssl-kd runner`) and clustered runs
 * (`ssl-kd run --cluster`) sharing one store folder. Skipped, saying why,
 * where PostgreSQL is not installed.
 */
import { spawn, type ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { BIN, REPO } from "../project.ts"
import { findPostgres, startPostgres, type Postgres } from "./postgres.ts"

const found = findPostgres()
if ("missing" in found) console.warn(`cluster tests skipped: ${found.missing}`)

const pipelineSource = (log: string) => `import * as fs from "node:fs"
import { Data, Effect, Schema } from "effect"
import { Artifact, Pipeline, Stage } from "../../../dsl/index.ts"

export const Num = Artifact.json("Num", Schema.Finite)

/** Appends "<pid> <x>" to the log (one line per execution), sleeps, returns 10x. */
export const item = Stage.make({
  name: "cluster-test/item",
  config: Schema.Struct({ x: Schema.Finite, ms: Schema.Finite, fail: Schema.optionalKey(Schema.Boolean) }),
  inputs: {},
  output: Num,
  run: ({ config }) =>
    Effect.gen(function* () {
      yield* Effect.sync(() => fs.appendFileSync(${JSON.stringify(log)}, process.pid + " " + config.x + "\\n"))
      yield* Effect.sleep(config.ms)
      if (config.fail === true) return yield* Effect.fail(new ItemBroken({ x: config.x }))
      return config.x * 10
    }),
})

export class ItemBroken extends Data.TaggedError("ItemBroken")<{ readonly x: number }> {
  override get message() { return "item " + this.x + " is broken" }
}

export const total = Stage.make({
  name: "cluster-test/total",
  config: Schema.Struct({}),
  inputs: { xs: Artifact.many(Num) },
  output: Num,
  run: ({ inputs }) => Effect.succeed(inputs.xs.reduce((a, b) => a + b.value, 0)),
})

export const failing = Pipeline.make("cluster-test-failing")
  .fanOut("broken", item, { config: { ms: 10 }, over: { g: { x: 7, fail: true } } })
  .build()

export default Pipeline.make("cluster-test")
  .fanOut("items", item, { config: { ms: 1500 }, over: { a: { x: 1 }, b: { x: 2 }, c: { x: 3 }, d: { x: 4 }, e: { x: 5 }, f: { x: 6 } } })
  .stage("total", total, { inputs: { xs: "items" } })
  .build()
`

interface Proc {
  readonly child: ChildProcess
  stderr: string
  stdout: string
  readonly exited: Promise<number | null>
}

const start = (args: ReadonlyArray<string>): Proc => {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO, env: { ...process.env, SSL_KD_POOL: undefined }, stdio: ["ignore", "pipe", "pipe"] })
  const proc: Proc = { child, stderr: "", stdout: "", exited: new Promise((resolve) => child.once("exit", (code) => resolve(code))) }
  child.stderr!.on("data", (d: Buffer) => (proc.stderr += d.toString()))
  child.stdout!.on("data", (d: Buffer) => (proc.stdout += d.toString()))
  return proc
}

const waitFor = async (what: string, check: () => boolean, timeoutMs: number, explain: () => string) => {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${explain()}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

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
    fs.writeFileSync(path.join(dir, "failing.ts"), `export { failing as default } from "./pipeline.ts"\n`)
    for (let i = 0; i < 3; i++) {
      runners.push(start(["runner", "--cluster", pg.url, "--slots", "cpu=1", "--cache-dir", store, "--lease-seconds", "5", "--backend", "cpu"]))
    }
    await waitFor("3 runners to join", () => runners.every((r) => r.stderr.includes("joining")), 30_000, () => runners.map((r) => r.stderr).join("\n---\n"))
  }, 90_000)

  afterAll(async () => {
    for (const r of runners) r.child.kill("SIGTERM")
    await Promise.all(runners.map((r) => Promise.race([r.exited, new Promise((res) => setTimeout(res, 5000))])))
    for (const r of runners) if (r.child.exitCode === null) r.child.kill("SIGKILL")
    await pg?.stop()
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true })
  })

  const run = async (...extra: Array<string>) => runFile("pipeline.ts", ...extra)
  const runFile = async (file: string, ...extra: Array<string>) => {
    const cli = start(["run", path.relative(REPO, path.join(dir, file)), "--cluster", pg.url, "--cache-dir", store, "--json", "--quiet", ...extra])
    const code = await cli.exited
    return { code, json: JSON.parse(cli.stdout.trim().split("\n")[0] ?? "{}") as { ok: boolean; stages: Array<{ name: string; status: string; error?: { _tag: string; message: string } }> }, stderr: cli.stderr }
  }

  const executions = (): Array<{ pid: number; x: number }> =>
    (fs.existsSync(log) ? fs.readFileSync(log, "utf8") : "")
      .trim()
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => {
        const [pid, x] = l.split(" ")
        return { pid: Number(pid), x: Number(x) }
      })

  it("a fan-out of 6 items runs on the runners, spread over >= 2 of them, each item computed once; a rerun is all cached", async () => {
    const first = await run()
    expect(first.code, first.stderr + runners.map((r) => r.stderr).join("\n---\n")).toBe(0)
    expect(first.json.ok).toBe(true)
    expect(first.json.stages.filter((s) => s.status === "ran").map((s) => s.name).sort()).toEqual(["items[a]", "items[b]", "items[c]", "items[d]", "items[e]", "items[f]", "total"])
    const ran = executions()
    expect(ran.map((e) => e.x).sort()).toEqual([1, 2, 3, 4, 5, 6])
    const runnerPids = new Set(runners.map((r) => r.child.pid))
    expect(ran.every((e) => runnerPids.has(e.pid))).toBe(true)
    expect(new Set(ran.map((e) => e.pid)).size).toBeGreaterThanOrEqual(2)
    // the runners committed the entries to the shared store: a second run serves everything from it
    const second = await run()
    expect(second.code).toBe(0)
    expect(second.json.stages.every((s) => s.status === "cached")).toBe(true)
    expect(executions()).toHaveLength(6)
  }, 120_000)

  it("a stage failure arrives with its own error tag; a later run retries it (the next generation of its key)", async () => {
    const before = executions().filter((e) => e.x === 7).length
    const first = await runFile("failing.ts")
    expect(first.code).toBe(1)
    const failed = first.json.stages.find((s) => s.name === "broken[g]")
    expect(failed?.status).toBe("failed")
    expect(failed?.error?.message).toContain("ItemBroken: item 7 is broken")
    expect(executions().filter((e) => e.x === 7)).toHaveLength(before + 1)
    const second = await runFile("failing.ts")
    expect(second.code).toBe(1)
    expect(second.json.stages.find((s) => s.name === "broken[g]")?.error?.message).toContain("ItemBroken")
    // retried, not served the first failure
    expect(executions().filter((e) => e.x === 7)).toHaveLength(before + 2)
  }, 120_000)
})
