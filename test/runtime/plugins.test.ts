/**
 * User-registered plugins are part of the cache key of the stages whose
 * config names them, and are loaded in pool workers (runtime/executor/plugins.ts).
 * A throw-away project as a user would write it: a registry and a stage that
 * looks names up in it (standing in for the library), the library's own
 * built-in registration, and a plugin registered from the user's own file.
 * Every run is the real `ssl-kd` binary with every stage in pool workers.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { BIN, collect, jsonStatuses, REPO } from "./project.ts"
import { spawn } from "node:child_process"

const FILES: Record<string, string> = {
  "registry.ts": `import { Effect } from "effect"
import { Registry } from "../../../dsl/index.ts"

export const ops = new Registry<(x: number) => number>("op")
Effect.runSync(ops.register("id", (x) => x))
`,
  "stages.ts": `import * as fs from "node:fs"
import { threadId } from "node:worker_threads"
import { Effect, Schema } from "effect"
import { Artifact, Stage } from "../../../dsl/index.ts"
import { ops } from "./registry.ts"

export const Value = Artifact.json("Value", Schema.Finite)

export const apply = Stage.make({
  name: "plug/apply",
  config: Schema.Struct({ op: Schema.String, x: Schema.Finite, report: Schema.String }),
  inputs: {},
  output: Value,
  run: ({ config }) =>
    Effect.gen(function* () {
      const f = yield* ops.get(config.op)
      const value = f(config.x)
      fs.writeFileSync(config.report, JSON.stringify({ value, thread: threadId }))
      return value
    }),
})
`,
  "plugin.ts": `import { Effect } from "effect"
import { ops } from "./registry.ts"

const FACTOR = 3
Effect.runSync(ops.register("triple", (x) => x * FACTOR))
`,
  "pipeline.ts": `import * as path from "node:path"
import { Pipeline } from "../../../dsl/index.ts"
import "./plugin.ts"
import { apply } from "./stages.ts"

const report = (name: string) => path.join(import.meta.dirname, \`\${name}.json\`)

export default Pipeline.make("plugins")
  .stage("p", apply, { config: { op: "triple", x: 2, report: report("p") } })
  .stage("q", apply, { config: { op: "id", x: 5, report: report("q") } })
  .build()
`,
}

const dir = path.join(REPO, "test", ".tmp", `plugins-${process.pid}-${Date.now()}`)
const cli = (args: ReadonlyArray<string>) =>
  collect(spawn(process.execPath, [BIN, ...args], { cwd: dir, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, FORCE_COLOR: "0", SSL_KD_POOL: "all" } }))
const report = async (name: string) => JSON.parse(await fs.readFile(path.join(dir, `${name}.json`), "utf8")) as { value: number; thread: number }

afterAll(() => fs.rm(dir, { recursive: true, force: true }))

describe("user-registered plugins", () => {
  it("are in the key of exactly the stages that name them, and registered in pool workers", async () => {
    for (const [f, text] of Object.entries(FILES)) await fs.mkdir(dir, { recursive: true }).then(() => fs.writeFile(path.join(dir, f), text))

    const first = await cli(["run", "pipeline.ts", "--json"])
    expect(first.code, first.stderr).toBe(0)
    expect(jsonStatuses(first.stdout)).toEqual({ p: "ran", q: "ran" })
    // p ran in a worker thread (not the CLI's main thread, 0), where "triple" had to be registered
    expect(await report("p")).toMatchObject({ value: 6 })
    expect((await report("p")).thread).toBeGreaterThan(0)
    expect((await report("q")).value).toBe(5)

    // a comment is not code
    await fs.writeFile(path.join(dir, "plugin.ts"), `// the user's plugin\n${FILES["plugin.ts"]}`)
    expect(jsonStatuses((await cli(["run", "pipeline.ts", "--json"])).stdout)).toEqual({ p: "cached", q: "cached" })

    // editing the plugin reruns p (which names it) and not q, and says why
    await fs.writeFile(path.join(dir, "plugin.ts"), FILES["plugin.ts"]!.replace("FACTOR = 3", "FACTOR = 4"))
    const plan = await cli(["plan", "pipeline.ts"])
    expect(plan.code, plan.stderr).toBe(0)
    expect(plan.stdout + plan.stderr).toMatch(/plugin op "triple" changed: .*plugin\.ts#FACTOR changed/)
    const second = await cli(["run", "pipeline.ts", "--json"])
    expect(jsonStatuses(second.stdout)).toEqual({ p: "ran", q: "cached" })
    expect(await report("p")).toMatchObject({ value: 8 })
    expect((await report("p")).thread).toBeGreaterThan(0)
  }, 120_000)
})
