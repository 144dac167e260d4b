import { Effect, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { Artifact, Config, Pipeline, PipelineDefinitionError, Stage } from "../../dsl/index.ts"
import { suggest } from "../../dsl/Names.ts"
import { describeTotals, generate, sum } from "./sampleStages.ts"

const problemsOf = (f: () => unknown): ReadonlyArray<{ kind: string; message: string }> => {
  try {
    f()
  } catch (e) {
    if (e instanceof PipelineDefinitionError) return e.problems
    throw e
  }
  throw new Error("expected a PipelineDefinitionError")
}

describe("pipeline validation at construction", () => {
  it("orders nodes topologically, in declaration order where free, and expands fan-outs", () => {
    const p = Pipeline.fromDeclarations("p", [
      { name: "report", stage: describeTotals, inputs: { totals: "sums" } },
      { name: "sums", stage: sum, inputs: { numbers: "gen" }, over: { a: { scale: 1 }, b: { scale: 2 } } },
      { name: "gen", stage: generate },
      { name: "other", stage: generate },
    ])
    expect(p.nodes.map((n) => n.name)).toEqual(["gen", "sums[a]", "sums[b]", "report", "other"])
    expect(p.nodes.find((n) => n.name === "sums[b]")?.config).toEqual({ scale: 2 })
    expect(p.groups.get("sums")?.items).toEqual(["a", "b"])
  })

  it("reports a cycle with its path", () => {
    const problems = problemsOf(() =>
      Pipeline.fromDeclarations("loop", [
        { name: "a", stage: sum, inputs: { numbers: "c" } },
        { name: "b", stage: sum, inputs: { numbers: "a" } },
        { name: "c", stage: sum, inputs: { numbers: "b" } },
      ]),
    )
    // (the artifacts also mismatch: sum produces Total, not Numbers; both are reported)
    const cycle = problems.find((p) => p.kind === "cycle")
    expect(cycle?.message).toMatch(/^cycle: "(a|b|c)" needs "(a|b|c)" needs "(a|b|c)" needs "\1"$/)
  })

  it("lists every problem at once: duplicates, missing and unknown inputs with did-you-mean, wrong artifacts", () => {
    const problems = problemsOf(() =>
      Pipeline.fromDeclarations(
        "bad",
        [
          { name: "gen", stage: generate },
          { name: "gen", stage: generate },
          { name: "s1", stage: sum, inputs: {} },
          { name: "s2", stage: sum, inputs: { numbers: "gne" } },
          { name: "s3", stage: sum, inputs: { numbrs: "gen", numbers: "gen" } },
          { name: "r", stage: describeTotals, inputs: { totals: "s3" } },
          { name: "bad name!", stage: generate },
        ],
        { small: { gne: { count: 1 } } },
      ),
    )
    const messages = problems.map((p) => p.message)
    expect(messages).toContain('node "gen" is declared twice')
    expect(messages).toContain('node "s1" (stage test/sum): input "numbers" is not connected')
    expect(messages).toContain('node "s2": input "numbers" refers to unknown node "gne" (did you mean "gen"?)')
    expect(messages).toContain('node "s3": stage test/sum has no input "numbrs" (did you mean "numbers"?)')
    expect(messages).toContain('node "r": input "totals" expects all items of a fan-out producing Total, but "s3" produces Total')
    expect(messages).toContain('preset "small" overrides unknown node "gne" (did you mean "gen"?)')
    expect(messages.some((m) => m.startsWith('node name "bad name!" is invalid'))).toBe(true)
    expect(problems).toHaveLength(7)
  })

  it("checks gathered lists: unknown names, wrong artifacts, duplicates, lists on single inputs; an empty list is allowed", () => {
    const problems = problemsOf(() =>
      Pipeline.fromDeclarations("bad", [
        { name: "gen", stage: generate },
        { name: "s", stage: sum, inputs: { numbers: "gen" } },
        { name: "r1", stage: describeTotals, inputs: { totals: ["s", "sx", "gen", "s"] } },
        { name: "r2", stage: describeTotals, inputs: { totals: [] } },
        { name: "s2", stage: sum, inputs: { numbers: ["gen"] } },
      ]),
    )
    const messages = problems.map((p) => p.message)
    expect(messages).toContain('node "r1": input "totals" refers to unknown node "sx" (did you mean "s" or "s2" or "r1"?)')
    expect(messages).toContain('node "r1": input "totals" gathers Total, but "gen" produces Numbers')
    expect(messages).toContain('node "r1": input "totals" lists "s" twice')
    expect(messages).toContain('node "s2": input "numbers" expects one Numbers, but is wired to a list ("gen"); only Artifact.many inputs gather lists')
    expect(problems).toHaveLength(4)
  })

  it("the typed builder validates too and freezes a usable pipeline", () => {
    const p = Pipeline.make("ok")
      .stage("gen", generate, { config: { count: 2 } })
      .fanOut("s", sum, { inputs: { numbers: "gen" }, over: { x: {} }, concurrency: 1 })
      .stage("r", describeTotals, { inputs: { totals: "s" } })
      .describe("a test pipeline")
      .build()
    expect(p.description).toBe("a test pipeline")
    expect(p.groups.get("s")?.concurrency).toBe(1)
  })

  it("stage names are checked when declared", () => {
    expect(() =>
      Stage.make({ name: "Bad Name", config: Schema.Struct({}), inputs: {}, output: Artifact.json("X", Schema.Null), run: () => Effect.succeed(null) }),
    ).toThrow(/stage name "Bad Name" is invalid/)
  })

  it("a stage's resource class: cpu by default, a value or a function of the config; anything else is a TypeError naming the stage", () => {
    const base = { config: Schema.Struct({ backend: Schema.String }), inputs: {}, output: Artifact.json("X", Schema.Null), run: () => Effect.succeed(null) }
    expect(Stage.make({ name: "r/default", ...base }).resource({ backend: "gpu" })).toBe("cpu")
    expect(Stage.make({ name: "r/fixed", ...base, resource: "gpu" }).resource({ backend: "cpu" })).toBe("gpu")
    const chosen = Stage.make({ name: "r/chosen", ...base, resource: (c) => (c.backend === "gpu" ? "gpu" : "cpu") })
    expect([chosen.resource({ backend: "gpu" }), chosen.resource({ backend: "native" })]).toEqual(["gpu", "cpu"])
    expect(() => Stage.make({ name: "r/bad", ...base, resource: "tpu" as "gpu" })).toThrow('stage "r/bad": resource must be "cpu" or "gpu", got "tpu"')
    const lying = Stage.make({ name: "r/lying", ...base, resource: () => "cuda" as "gpu" })
    expect(() => lying.resource({ backend: "x" })).toThrow('stage "r/lying": resource must be "cpu" or "gpu", got "cuda"')
  })

  it("did-you-mean ranks close names first", () => {
    expect(suggest("distil", ["distill", "evaluate", "adapt"])).toEqual(["distill"])
    expect(suggest("zzz", ["distill"])).toEqual([])
  })
})

describe("config resolution", () => {
  const configured = Pipeline.make("cfg")
    .stage("gen", generate, { config: { count: 5 } })
    .fanOut("s", sum, { inputs: { numbers: "gen" }, over: { a: {}, b: { scale: 3 } }, config: { scale: 2 } })
    .preset("p", { s: { scale: 7 } })
    .build()

  it("applies defaults < node config < item patch < preset < command line", async () => {
    const base = await Effect.runPromise(Config.resolveConfigs(configured, {}))
    expect(base.get("gen")).toEqual({ count: 5 })
    expect(base.get("s[a]")).toEqual({ scale: 2 })
    expect(base.get("s[b]")).toEqual({ scale: 3 })
    const preset = await Effect.runPromise(Config.resolveConfigs(configured, configured.presets.p!))
    expect(preset.get("s[b]")).toEqual({ scale: 7 })
    const cli = await Effect.runPromise(Config.resolveConfigs(configured, configured.presets.p!, { "s[a]": { scale: 9 } }))
    expect(cli.get("s[a]")).toEqual({ scale: 9 })
    expect(cli.get("s[b]")).toEqual({ scale: 7 })
  })

  it("rejects unknown fields and wrong types, naming node, stage, field and value", async () => {
    const err = await Effect.runPromise(Effect.flip(Config.resolveConfigs(configured, {}, { gen: { count: 1.5, extra: true } })))
    expect(err.nodes).toHaveLength(1)
    expect(err.nodes[0]!.node).toBe("gen")
    const fields = err.nodes[0]!.issues.map((i) => `${i.field}|${i.expected}|${i.actual}`)
    expect(fields).toContain("count|Expected an integer|1.5")
    expect(fields.some((f) => f.startsWith("extra|") && f.endsWith("|true"))).toBe(true)
  })

  it("withDefault fills absent fields", async () => {
    const decoded = await Effect.runPromise(Schema.decodeUnknownEffect(Schema.Struct({ lr: Config.withDefault(Schema.Finite, 0.1) }))({}))
    expect(decoded).toEqual({ lr: 0.1 })
  })
})
