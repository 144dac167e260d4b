/** The model registry: duplicates rejected, unknown names answered with "did you mean", configs validated. */
import { Effect, Exit } from "effect"
import { describe, expect, it } from "vitest"
import { ModelRegistry, models, vitMicroPatch7_28 } from "../../../plugins/models/index.ts"

const failure = <A, E>(e: Effect.Effect<A, E>): E => {
  const exit = Effect.runSyncExit(Effect.flip(e))
  if (Exit.isSuccess(exit)) return exit.value
  throw new Error("expected a typed failure")
}

describe("ModelRegistry", () => {
  it("rejects a duplicate registration and keeps the first", () => {
    const r = new ModelRegistry()
    Effect.runSync(r.register("a", { config: vitMicroPatch7_28, description: "first" }))
    const err = failure(r.register("a", { config: { ...vitMicroPatch7_28, depth: 3 }, description: "second" }))
    expect(err._tag).toBe("DuplicateNameError")
    expect(err.message).toMatch(/^model "a" is already registered at .*registry\.test\.ts:\d+; pick another name/)
    expect(Effect.runSync(r.get("a")).description).toBe("first")
  })

  it("the default registry rejects re-registering a built-in variant", () => {
    const err = failure(models.register("vitTinyPatch4_28", { config: vitMicroPatch7_28, description: "" }))
    expect(err._tag).toBe("DuplicateNameError")
  })

  it("an unknown name lists the known names and suggests the closest", () => {
    const err = failure(models.get("vitTinyPatch16_28"))
    expect(err._tag).toBe("UnknownNameError")
    expect(err.suggestions[0]).toBeDefined()
    expect(err.message).toContain("Did you mean")
    expect(err.message).toContain("vitTinyPatch4_28")
    expect(err.known).toEqual(models.names())
    expect(failure(models.get("vit_base_patch16_224")).suggestions).toContain("vitBasePatch16_224")
  })

  it("invalid configs fail with the field, value and expectation", () => {
    const r = new ModelRegistry()
    const bad = failure(r.register("b", { config: { ...vitMicroPatch7_28, embedDim: 30 }, description: "" }))
    expect(bad).toMatchObject({ _tag: "InvalidModelConfig", field: "embedDim", value: 30 })
    expect(failure(models.resolve("vitMicroPatch7_28", { imgSize: 30 }))).toMatchObject({ field: "imgSize", value: 30 })
    expect(failure(models.resolve("vitMicroPatch7_28", { numClasses: -1 }))).toMatchObject({ field: "numClasses" })
  })

  it("create-time overrides apply (numClasses 0: no head)", () => {
    const c = Effect.runSync(models.resolve("vitBasePatch16_224", { numClasses: 0 }))
    expect(c.numClasses).toBe(0)
    expect(c.embedDim).toBe(768)
  })
})
