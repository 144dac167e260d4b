/**
 * A runner checks a job's stage (import + code fingerprint) in a thread of its
 * own, so its main thread keeps refreshing job leases meanwhile. Measured here
 * as the longest pause of the calling thread's event loop during a cold check
 * (ts-morph not loaded, no memo), next to the same fingerprint computed on the
 * calling thread, as the runner did before (seconds of pause on a loaded
 * machine: a 5 s lease expired and another runner ran the job again).
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Fingerprint from "../../../runtime/fingerprint/Fingerprint.ts"
import { makeStageCheck } from "../../../runtime/cluster/check/StageCheck.ts"
import { REPO } from "../project.ts"

const stageModule = `import { Effect, Schema } from "effect"
import { Artifact, Stage } from "../../../dsl/index.ts"

const Num = Artifact.json("Num", Schema.Finite)
const twice = (x: number) => 2 * x

export const doubled = Stage.make({
  name: "check-test/doubled",
  config: Schema.Struct({ x: Schema.Finite }),
  inputs: {},
  output: Num,
  run: ({ config }) => Effect.succeed(twice(config.x)),
})
`

/** Runs `work` while timing the gaps between 10 ms ticks of this thread's event loop; returns its value and the longest gap. */
const longestPause = async <A>(work: () => Promise<A>): Promise<{ value: A; pauseMs: number }> => {
  let last = performance.now()
  let pauseMs = 0
  const timer = setInterval(() => {
    const now = performance.now()
    pauseMs = Math.max(pauseMs, now - last)
    last = now
  }, 10)
  try {
    const value = await work()
    const now = performance.now()
    pauseMs = Math.max(pauseMs, now - last)
    return { value, pauseMs }
  } finally {
    clearInterval(timer)
  }
}

describe("runner stage check (its own thread)", () => {
  let dir: string
  let moduleFile: string
  beforeAll(() => {
    fs.mkdirSync(path.join(REPO, "test", ".tmp"), { recursive: true })
    dir = fs.mkdtempSync(path.join(REPO, "test", ".tmp", "stage-check-"))
    moduleFile = path.join(dir, "stages.ts")
    fs.writeFileSync(moduleFile, stageModule)
  })
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

  it("fingerprints the stage as the calling thread would, without pausing the calling thread's event loop", async () => {
    const check = makeStageCheck({ memoFile: undefined })
    try {
      const threaded = await longestPause(() => Effect.runPromise(check.check({ moduleFile, exportName: "doubled", stageName: "check-test/doubled" })))
      expect(threaded.value.fromMemo).toBe(false)
      expect(threaded.value.moduleUrl).toBe(pathToFileURL(moduleFile).href)

      const mod = (await import(pathToFileURL(moduleFile).href)) as { doubled: Parameters<Fingerprint.FingerprinterShape["fingerprint"]>[0] }
      const here = await longestPause(() => Effect.runPromise(Fingerprint.makeFingerprinter(undefined).fingerprint(mod.doubled)))
      expect(threaded.value.fingerprint).toBe(here.value.fingerprint)
      // ts-morph on this thread stops its event loop for the whole load and parse; in the check thread it does not.
      expect(here.pauseMs, `pause with the check thread ${threaded.pauseMs.toFixed(0)} ms, on this thread ${here.pauseMs.toFixed(0)} ms`).toBeGreaterThan(threaded.pauseMs)
      expect(threaded.pauseMs).toBeLessThan(500)
    } finally {
      await Effect.runPromise(check.shutdown)
    }
  }, 120_000)

  it("refuses, with a tag, a module that does not load and an export that is not the stage; the thread goes on checking", async () => {
    const check = makeStageCheck({ memoFile: undefined })
    try {
      const missing = await Effect.runPromise(Effect.flip(check.check({ moduleFile: path.join(dir, "nope.ts"), exportName: "doubled", stageName: "check-test/doubled" })))
      expect(missing.errorTag).toBe("StageModuleError")
      expect(missing.detail).toContain("nope.ts does not load")
      const other = await Effect.runPromise(Effect.flip(check.check({ moduleFile, exportName: "doubled", stageName: "check-test/other" })))
      expect(other.errorTag).toBe("StageNotFound")
      expect(other.detail).toContain("is not stage check-test/other")
      const ok = await Effect.runPromise(check.check({ moduleFile, exportName: "doubled", stageName: "check-test/doubled" }))
      expect(ok.fingerprint).toMatch(/^[0-9a-f]{64}$/)
    } finally {
      await Effect.runPromise(check.shutdown)
    }
  }, 120_000)

  it("persists fingerprints in its memo file: a new check thread answers from it", async () => {
    const memoFile = path.join(dir, "memo", "fingerprints.json")
    const first = makeStageCheck({ memoFile })
    const computed = await Effect.runPromise(first.check({ moduleFile, exportName: "doubled", stageName: "check-test/doubled" }).pipe(Effect.ensuring(first.shutdown)))
    expect(computed.fromMemo).toBe(false)
    const second = makeStageCheck({ memoFile })
    const memo = await Effect.runPromise(second.check({ moduleFile, exportName: "doubled", stageName: "check-test/doubled" }).pipe(Effect.ensuring(second.shutdown)))
    expect(memo.fromMemo).toBe(true)
    expect(memo.fingerprint).toBe(computed.fingerprint)
  }, 120_000)
})
