import { describe, expect, it } from "vitest"
import * as path from "node:path"
import { makeTypeChecker } from "../../runtime/watch/typecheck.ts"
import { collect, makeProject, REPO, waitFor } from "./project.ts"

const runs = (stdout: string) =>
  stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => Object.fromEntries((JSON.parse(l) as { stages: Array<{ name: string; status: string }> }).stages.map((s) => [s.name, s.status])))

describe("ssl-kd watch", () => {
  // The fixture project does not import the tensor backend; the real pipelines do, and the
  // backend uses import.meta (allowed in ESM only): the check must read the project's tsconfig
  // and package.json "type" as tsc does, or it reports false errors and watch never runs.
  it("type-checks pipelines/paper.ts (the smoke preset's file) with the project's tsconfig: no errors", { timeout: 300_000 }, () => {
    const checker = makeTypeChecker(path.join(REPO, "pipelines", "paper.ts"))
    expect(checker.check()).toEqual([])
    const files = checker.files()
    expect(files.has(path.join(REPO, "runtime", "backend", "internal", "wasmPaths.ts"))).toBe(true)
  })

  it("reruns only stale stages on save, reports syntax and type errors and keeps watching", { timeout: 240_000 }, async () => {
    const p = await makeProject("watch")
    const child = p.spawnCli(["watch", "pipeline.ts", "--json"])
    const result = collect(child)
    try {
      await waitFor(child, /run finished; waiting for changes/, 60_000)
      const helper = await p.read("helpers/scale.ts")
      // A file outside the pipeline's import graph does not trigger a run.
      await p.write("unrelated.ts", "export const x = 1\n")

      await p.write("helpers/scale.ts", helper.replace("FACTOR = 2", "FACTOR = 5"))
      await waitFor(child, /changed: helpers\/scale\.ts[\s\S]*run finished; waiting for changes/, 60_000)

      await p.write("helpers/scale.ts", helper.replace("FACTOR = 2", "FACTOR = (2"))
      await waitFor(child, /does not type-check[\s\S]*helpers\/scale\.ts:\d+:\d+/, 60_000)

      await p.write("helpers/scale.ts", helper.replace("FACTOR = 2", 'FACTOR: number = "two"'))
      await waitFor(child, /does not type-check[\s\S]*Type 'string' is not assignable to type 'number'/, 60_000)

      await p.write("helpers/scale.ts", helper.replace("FACTOR = 2", "FACTOR = 7"))
      await waitFor(child, /run finished; waiting for changes/, 60_000)
    } finally {
      child.kill("SIGINT")
    }
    const { stdout, code } = await result
    expect(code).toBe(130)
    const statuses = runs(stdout)
    expect(statuses).toHaveLength(3)
    expect(statuses[0]).toEqual({ a: "ran", b: "ran", c: "ran", d: "ran", s: "ran" })
    expect(statuses[1]).toEqual({ a: "cached", b: "ran", c: "ran", d: "cached", s: "cached" })
    expect(statuses[2]).toEqual({ a: "cached", b: "ran", c: "ran", d: "cached", s: "cached" })
  })

  it("a change during a run interrupts it and restarts cleanly", { timeout: 180_000 }, async () => {
    const p = await makeProject("watch-restart")
    const child = p.spawnCli(["watch", "pipeline.ts", "--preset", "slow", "--json"])
    const result = collect(child)
    try {
      await waitFor(child, /\[s\] \d+\/40/, 60_000)
      const helper = await p.read("helpers/total.ts")
      await p.write("helpers/total.ts", `${helper}export const unused = 1\n`)
      await waitFor(child, /run interrupted[\s\S]*run finished; waiting for changes/, 90_000)
    } finally {
      child.kill("SIGINT")
    }
    const { stdout } = await result
    const statuses = runs(stdout)
    expect(statuses).toHaveLength(1)
    expect(statuses[0]!.s).toBe("ran")
    const verify = await p.cli(["cache", "verify", "--json"])
    expect(JSON.parse(verify.stdout).corrupt).toBe(0)
  })
})
