/**
 * A throw-away pipeline project written to `test/.tmp/` (inside the repo, so
 * its files resolve `effect` and the DSL), driven through the real `ssl-kd`
 * binary in child processes: each run is a fresh process, as a user's is.
 */
import { spawn, type ChildProcess } from "node:child_process"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

export const REPO = fileURLToPath(new URL("../../", import.meta.url))
export const BIN = path.join(REPO, "bin", "ssl-kd.js")

const files: Record<string, string> = {
  "helpers/scale.ts": `/** Used only by stage b. */
export const FACTOR = 2
export const scaleAll = (xs: ReadonlyArray<number>): Array<number> => xs.map((x) => x * FACTOR)
`,
  "helpers/total.ts": `export const total = (xs: ReadonlyArray<number>): number => xs.reduce((a, b) => a + b, 0)
`,
  "stages.ts": `import { Duration, Effect, Schema } from "effect"
import { Artifact, Config, Stage, StageContext } from "../../../dsl/index.ts"
import { scaleAll } from "./helpers/scale.ts"
import { total } from "./helpers/total.ts"

export const Numbers = Artifact.json("Numbers", Schema.Array(Schema.Finite))
export const Sum = Artifact.json("Sum", Schema.Finite)

export const a = Stage.make({
  name: "proj/a",
  config: Schema.Struct({ count: Config.withDefault(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 100 })), 3) }),
  inputs: {},
  output: Numbers,
  run: ({ config }) => Effect.succeed(Array.from({ length: config.count }, (_, i) => i + 1)),
})

export const b = Stage.make({
  name: "proj/b",
  config: Schema.Struct({}),
  inputs: { numbers: Numbers },
  output: Numbers,
  run: ({ inputs }) => Effect.succeed(scaleAll(inputs.numbers)),
})

export const sum = Stage.make({
  name: "proj/sum",
  config: Schema.Struct({ offset: Config.withDefault(Schema.Finite, 0) }),
  inputs: { numbers: Numbers },
  output: Sum,
  run: ({ config, inputs }) => Effect.succeed(total(inputs.numbers) + config.offset),
})

/** Sleeps \`steps\` x \`stepMs\`, reporting progress: interruptible. */
export const slow = Stage.make({
  name: "proj/slow",
  config: Schema.Struct({ steps: Config.withDefault(Schema.Int, 1), stepMs: Config.withDefault(Schema.Int, 10), tag: Config.withDefault(Schema.String, "") }),
  inputs: { numbers: Numbers },
  output: Sum,
  run: ({ config, inputs }) =>
    Effect.gen(function* () {
      const ctx = yield* StageContext
      for (let i = 0; i < config.steps; i++) {
        yield* Effect.sleep(Duration.millis(config.stepMs))
        yield* ctx.progress({ done: i + 1, total: config.steps })
        if (ctx.metric !== undefined) yield* ctx.metric({ epoch: 1, step: i + 1, loss: 1 / (i + 1) })
      }
      if (ctx.metric !== undefined) yield* ctx.metric({ total: total(inputs.numbers) })
      return total(inputs.numbers)
    }),
})
`,
  "pipeline.ts": `import { Pipeline } from "../../../dsl/index.ts"
import { a, b, slow, sum } from "./stages.ts"

export default Pipeline.make("proj")
  .stage("a", a, {})
  .stage("b", b, { inputs: { numbers: "a" } })
  .stage("c", sum, { inputs: { numbers: "b" } })
  .stage("d", sum, { inputs: { numbers: "a" }, config: { offset: 100 } })
  .stage("s", slow, { inputs: { numbers: "a" } })
  .preset("slow", { s: { steps: 40, stepMs: 50 } })
  .build()
`,
}

export interface Project {
  readonly dir: string
  readonly write: (file: string, text: string) => Promise<void>
  readonly read: (file: string) => Promise<string>
  readonly cli: (args: ReadonlyArray<string>) => Promise<CliResult>
  readonly spawnCli: (args: ReadonlyArray<string>) => ChildProcess
}

export interface CliResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

export const collect = (child: ChildProcess): Promise<CliResult> =>
  new Promise((resolve) => {
    let stdout = ""
    let stderr = ""
    child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()))
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()))
    child.on("close", (code) => resolve({ code, stdout, stderr }))
  })

export const makeProject = async (name: string): Promise<Project> => {
  const dir = path.join(REPO, "test", ".tmp", `${name}-${process.pid}-${Date.now()}`)
  for (const [file, text] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(dir, file)), { recursive: true })
    await fs.writeFile(path.join(dir, file), text)
  }
  const spawnCli = (args: ReadonlyArray<string>) =>
    spawn(process.execPath, [BIN, ...args], { cwd: dir, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, FORCE_COLOR: "0" } })
  return {
    dir,
    write: (file, text) => fs.writeFile(path.join(dir, file), text),
    read: (file) => fs.readFile(path.join(dir, file), "utf8"),
    cli: (args) => collect(spawnCli(args)),
    spawnCli,
  }
}

/** The `stages` of a `--json` result, as name -> status. */
export const jsonStatuses = (stdout: string): Record<string, string> => {
  const line = stdout.trim().split("\n").filter((l) => l.startsWith("{")).pop() ?? "{}"
  const parsed = JSON.parse(line) as { stages?: Array<{ name: string; status: string }> }
  return Object.fromEntries((parsed.stages ?? []).map((s) => [s.name, s.status]))
}

/** Resolves when `child`'s stderr matches `pattern`. */
export const waitFor = (child: ChildProcess, pattern: RegExp, timeoutMs = 30_000): Promise<string> =>
  new Promise((resolve, reject) => {
    let seen = ""
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}; saw:\n${seen}`)), timeoutMs)
    const onData = (d: Buffer) => {
      seen += d.toString()
      if (pattern.test(seen)) {
        clearTimeout(timer)
        child.stderr?.off("data", onData)
        child.stdout?.off("data", onData)
        resolve(seen)
      }
    }
    child.stderr?.on("data", onData)
    child.stdout?.on("data", onData)
  })
