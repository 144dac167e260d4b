/**
 * The steps bench measures the shapes the reproduction trains (issue 16: "at
 * the shapes of the largest preset that runs here"): its defaults agree with
 * the `repro` preset's architectures and recipes, and its PyTorch script's
 * argument defaults agree with them too.
 */
import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { vitMiniPatch4_28, vitNanoPatch4_28 } from "../../plugins/models/variants.ts"
import { reproDino, reproMae } from "../../pipelines/teachers.ts"
import { scales } from "../../pipelines/scales.ts"
import { defaultShapes } from "./stepKinds.ts"

describe("steps bench default shapes", () => {
  it("are the repro preset's teacher, student, DINO, MAE and batch settings", () => {
    expect(scales.repro.teachers.dino.config).toMatchObject({ arch: "vitMiniPatch4_28" })
    expect(scales.repro.student.student).toMatchObject({ arch: "vitNanoPatch4_28" })
    expect(defaultShapes).toMatchObject({
      img: vitMiniPatch4_28.imgSize,
      patch: vitMiniPatch4_28.patchSize,
      teacherWidth: vitMiniPatch4_28.embedDim,
      teacherDepth: vitMiniPatch4_28.depth,
      teacherHeads: vitMiniPatch4_28.numHeads,
      studentWidth: vitNanoPatch4_28.embedDim,
      studentDepth: vitNanoPatch4_28.depth,
      studentHeads: vitNanoPatch4_28.numHeads,
      studentBatch: scales.repro.student.batchSize,
      batch: reproDino.batchSize,
      localCrops: reproDino.localCrops,
      localSize: reproDino.localSize,
      dinoOutDim: reproDino.outDim,
      dinoHiddenDim: reproDino.headHiddenDim,
      dinoBottleneckDim: reproDino.headBottleneckDim,
      dinoHeadBn: reproDino.headUseBn ? 1 : 0,
      maskRatio: reproMae.maskRatio,
      decoderDim: reproMae.decoderDim,
      decoderDepth: reproMae.decoderDepth,
      decoderHeads: reproMae.decoderHeads,
    })
    expect(reproMae.batchSize).toBe(defaultShapes.batch)
  })

  it("are torch_steps.py's argument defaults", () => {
    const py = readFileSync(new URL("./torch_steps.py", import.meta.url), "utf8")
    const pyDefaults = Object.fromEntries([...py.matchAll(/\("([a-z0-9-]+)", (\d+)\)/g)].map((m) => [m[1]!, Number(m[2])]))
    const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)
    const ints = Object.entries(defaultShapes).filter(([k]) => k !== "maskRatio")
    expect(Object.fromEntries(ints.map(([k]) => [kebab(k), pyDefaults[kebab(k)]]))).toEqual(Object.fromEntries(ints.map(([k, v]) => [kebab(k), v])))
    expect(py).toContain(`ap.add_argument("--mask-ratio", type=float, default=${defaultShapes.maskRatio})`)
  })
})
