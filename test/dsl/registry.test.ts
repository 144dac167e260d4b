/**
 * One registry class for models, datasets, readers, losses and teachers
 * (dsl/Registry.ts): one set of verbs, one duplicate error that says where the
 * name was taken, one unknown-name error with did-you-mean; each registration
 * records its site (the caller of `register`). And the registries as Effect
 * services: a default, and a swap for a test or a user.
 */
import { fileURLToPath } from "node:url"
import { Effect, Exit } from "effect"
import { describe, expect, it } from "vitest"
import { allRegistries, Registry } from "../../dsl/Registry.ts"
import { datasets, Datasets, makeDefaultRegistry } from "../../plugins/datasets/builtins.ts"
import { losses, Losses } from "../../plugins/losses/builtins.ts"
import { ModelRegistry } from "../../plugins/models/registry.ts"
import { Models, models, vitMicroPatch7_28 } from "../../plugins/models/variants.ts"
import { resolveArch } from "../../plugins/teachers/architecture.ts"
import { teachers, Teachers } from "../../plugins/teachers/builtins.ts"

const HERE = fileURLToPath(import.meta.url)
const flip = <E>(e: Effect.Effect<unknown, E>): E => Effect.runSync(Effect.flip(e))

describe("Registry", () => {
  it("register / get / names / has / values, and the site of each registration", () => {
    const r = new Registry<number>("widget")
    Effect.runSync(r.register("b", 2))
    const line = new Error().stack!.split("\n")[1]!.match(/:(\d+):\d+\)?$/)![1]
    Effect.runSync(r.register("a", 1))
    expect(r.names()).toEqual(["a", "b"])
    expect(r.values()).toEqual([1, 2])
    expect(r.has("a") && !r.has("c")).toBe(true)
    expect(Effect.runSync(r.get("b"))).toBe(2)
    expect(r.registration("b")?.site).toMatchObject({ file: HERE, line: Number(line) - 1 })
    expect(r.registration("a")?.site).toMatchObject({ file: HERE, line: Number(line) + 1 })
    expect(allRegistries()).toContain(r)
  })

  it("a taken name fails with DuplicateNameError naming where it was taken; the first value stays", () => {
    const r = new Registry<string>("widget")
    Effect.runSync(r.register("a", "first"))
    const e = flip(r.register("a", "second"))
    expect(e._tag).toBe("DuplicateNameError")
    expect(e.message).toMatch(new RegExp(`^widget "a" is already registered at ${HERE.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:\\d+; pick another name`))
    expect(Effect.runSync(r.get("a"))).toBe("first")
  })

  it("an unknown name fails with UnknownNameError: the kind, the close names, the known ones", () => {
    const r = new Registry<number>("widget")
    for (const n of ["alpha", "beta", "gamma"]) Effect.runSync(r.register(n, 0))
    const e = flip(r.get("alpah"))
    expect(e).toMatchObject({ _tag: "UnknownNameError", what: "widget", name: "alpah", suggestions: ["alpha"], known: ["alpha", "beta", "gamma"] })
    expect(e.message).toBe('unknown widget "alpah". Did you mean "alpha"? Known: alpha, beta, gamma')
  })

  it("validate refuses a value with its own typed error, before it is stored", () => {
    const r = new ModelRegistry()
    const e = flip(r.register("odd", { config: { ...vitMicroPatch7_28, embedDim: 30 }, description: "" }))
    expect(e).toMatchObject({ _tag: "InvalidModelConfig", field: "embedDim" })
    expect(r.has("odd")).toBe(false)
  })

  it("the built-in registries record the library's registration sites", () => {
    expect(models.registration("vitTinyPatch4_28")?.site?.file).toMatch(/plugins\/models\/variants\.ts$/)
    expect(losses.registration("kd-output")?.site?.file).toMatch(/plugins\/losses\/builtins\.ts$/)
    expect(teachers.registration("dino")?.site?.file).toMatch(/plugins\/teachers\/builtins\.ts$/)
    expect(datasets.registration("fashion-mnist")?.site?.file).toMatch(/plugins\/datasets\/builtins\.ts$/)
    expect(datasets.readers.registration("idx")?.site?.file).toMatch(/plugins\/datasets\/builtins\.ts$/)
  })
})

describe("registries as Effect services", () => {
  it("default to the built-in registries", () => {
    const got = Effect.runSync(Effect.all([Models.use(Effect.succeed), Losses.use(Effect.succeed), Teachers.use(Effect.succeed), Datasets.use(Effect.succeed)]))
    expect(got).toEqual([models, losses, teachers, datasets])
  })

  it("a provided registry replaces the default for the code that reads the service", () => {
    const mine = new ModelRegistry()
    Effect.runSync(mine.register("tiny-custom", { config: { ...vitMicroPatch7_28, depth: 1 }, description: "a test's own model" }))
    const overrides = { arch: "tiny-custom", embedDim: 0, depth: 0, numHeads: 0 }
    const resolved = Effect.runSync(resolveArch("vitMicroPatch7_28", overrides).pipe(Effect.provideService(Models, mine)))
    expect(resolved.config.depth).toBe(1)
    // the default registry does not know it
    const exit = Effect.runSyncExit(resolveArch("vitMicroPatch7_28", overrides))
    expect(Exit.isFailure(exit) && String(exit.cause)).toContain('unknown model "tiny-custom"')
    // a fresh dataset registry is independent of the shared one
    const fresh = makeDefaultRegistry()
    expect(fresh).not.toBe(datasets)
    expect(fresh.names()).toEqual(datasets.names())
  })
})
