/** Regression tests of issue 17 for command-line input checking (findings 14, 15). */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { writeSafetensors } from "../../plugins/checkpoints/index.ts"
import { models, paramSpecs } from "../../plugins/models/index.ts"
import { parseBackend, parseSets, parseWorkers } from "../../runtime/cli/args.ts"
import { command as extract } from "../../plugins/cli/extract.ts"
import type { CliIO } from "../../runtime/cli/Command.ts"
import { jsonStatuses, makeProject } from "./project.ts"

const sets = (xs: Array<string>) => Effect.runPromise(Effect.result(parseSets("run", "usage", xs)))

describe("issue 17: --set paths", () => {
  it("finding 14: __proto__, constructor and prototype are refused anywhere in a path or a value; results have no prototype", async () => {
    for (const bad of ["__proto__.x=1", "constructor.x=1", "a.__proto__=1", "a.prototype=1", 'a.b={"__proto__":{"polluted":1}}', 'a.b=[{"constructor":1}]']) {
      const r = await sets([bad])
      expect(r._tag, bad).toBe("Failure")
      if (r._tag === "Failure") expect(r.failure.message).toMatch(/__proto__|constructor|prototype/)
    }
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined()
    expect(({} as Record<string, unknown>)["x"]).toBeUndefined()
    const ok = await sets(["a.count=4", "a.name=x"])
    expect(ok._tag).toBe("Success")
    if (ok._tag === "Success") {
      expect(Object.getPrototypeOf(ok.success)).toBeNull()
      expect(Object.getPrototypeOf(ok.success["a"])).toBeNull()
      expect({ ...ok.success["a"] }).toEqual({ count: 4, name: "x" })
    }
  })

  it("finding 15: 1e400 is reported as out of range, not as null", async () => {
    const r = await sets(["a.count=1e400"])
    expect(r._tag).toBe("Failure")
    if (r._tag === "Failure") expect(r.failure.message).toMatch(/1e400.*(finite|range)/)
    const neg = await sets(["a.count=-1e999"])
    expect(neg._tag).toBe("Failure")
  })
})

describe("issue 17: --workers and --backend", () => {
  it("finding 15: --workers must be a positive whole number; --backend a known name", async () => {
    const w = (v: string | undefined) => Effect.runPromise(Effect.result(parseWorkers("run", "usage", v)))
    expect(await w(undefined)).toMatchObject({ _tag: "Success", success: undefined })
    expect(await w("3")).toMatchObject({ _tag: "Success", success: 3 })
    for (const bad of ["abc", "0", "-2", "1.5", "", "1e400"]) {
      const r = await w(bad)
      expect(r._tag, bad).toBe("Failure")
      if (r._tag === "Failure") expect(r.failure.message).toContain("--workers")
    }
    const b = (v: string | undefined) => Effect.runPromise(Effect.result(parseBackend("run", "usage", v)))
    expect(await b("cpu")).toMatchObject({ _tag: "Success", success: "cpu" })
    expect(await b(undefined)).toMatchObject({ _tag: "Success", success: undefined })
    const bogus = await b("bogus")
    expect(bogus._tag).toBe("Failure")
    if (bogus._tag === "Failure") expect(bogus.failure.message).toMatch(/bogus.*node-gpu.*cpu/s)
  })

  it("finding 15: ssl-kd run --workers abc and --backend bogus are usage errors (exit 2), also on a fully cached run", async () => {
    const p = await makeProject("input")
    const first = await p.cli(["run", "pipeline.ts", "--json"])
    expect(first.code).toBe(0)
    const workers = await p.cli(["run", "pipeline.ts", "--workers", "abc"])
    expect(workers.code).toBe(2)
    expect(workers.stderr).toContain("--workers abc")
    const backend = await p.cli(["run", "pipeline.ts", "--backend", "bogus", "--json"])
    expect(backend.code).toBe(2)
    expect(backend.stderr).toContain("bogus")
    expect(jsonStatuses(backend.stdout)).toEqual({})
    await fs.rm(p.dir, { recursive: true, force: true })
  }, 120_000)
})

describe("issue 17: extract", () => {
  it("finding 15: extract loads the pipeline's exported student, reading in-channels etc. from its config.json", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "ssl-kd-extract-student-"))
    const config = Effect.runSync(models.resolve("vitMicroPatch7_28", { inChans: 1, numClasses: 4 }))
    let seed = 1
    const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 0.1
    const params = paramSpecs(config).map((s) => ({ name: s.name, shape: s.shape, data: Float32Array.from({ length: s.shape.reduce((a, b) => a * b, 1) }, rand) }))
    await Effect.runPromise(writeSafetensors(path.join(dir, "model.safetensors"), params))
    await fs.writeFile(
      path.join(dir, "config.json"),
      JSON.stringify({
        architecture: "vit_tiny_patch16_224",
        num_classes: 4,
        model_args: { img_size: config.imgSize, patch_size: config.patchSize, in_chans: 1, embed_dim: config.embedDim, depth: config.depth, num_heads: config.numHeads, mlp_ratio: config.mlpRatio, num_classes: 4 },
      }),
    )
    const images = Float32Array.from({ length: 2 * 28 * 28 }, (_, i) => (i % 17) / 17)
    await Effect.runPromise(writeSafetensors(path.join(dir, "input.safetensors"), [{ name: "images", shape: [2, 1, 28, 28], data: images }]))
    const lines: Array<string> = []
    const io: CliIO = { out: (t) => lines.push(t), err: (t) => lines.push(t), cwd: dir, isTTY: false }
    const out = path.join(dir, "out.safetensors")
    const r = await Effect.runPromise(
      Effect.result(extract.run(["--checkpoint", path.join(dir, "model.safetensors"), "--arch", "vitMicroPatch7_28", "--input", path.join(dir, "input.safetensors"), "--out", out, "--backend", "cpu"], io)),
    )
    expect(r._tag === "Failure" ? r.failure.message : "ok").toBe("ok")
    expect(lines.join("\n")).toContain(`logits [2, 4], features [2, ${config.embedDim}]`)
    // a config.json with a nonsense field is a typed error naming it
    await fs.writeFile(path.join(dir, "config.json"), JSON.stringify({ model_args: { in_chans: "three" } }))
    const bad = await Effect.runPromise(Effect.result(extract.run(["--checkpoint", path.join(dir, "model.safetensors"), "--arch", "vitMicroPatch7_28", "--input", path.join(dir, "input.safetensors"), "--out", out, "--backend", "cpu"], io)))
    expect(bad._tag).toBe("Failure")
    if (bad._tag === "Failure") expect(bad.failure.message).toMatch(/config\.json.*in_chans/)
  }, 60_000)
})
