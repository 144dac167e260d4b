/**
 * `ssl-kd extract` end to end on the PyTorch fixture: the written logits,
 * features and attention maps match the reference to 1e-4; bad invocations
 * end in typed errors; no tensor leaks.
 */
import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { floatState, readSafetensors, writeSafetensors } from "../../../plugins/checkpoints/index.ts"
import { models, paramSpecs } from "../../../plugins/models/index.ts"
import { command, parseExtractArgs } from "../../../plugins/cli/extract.ts"
import type { CliIO } from "../../../runtime/cli/Command.ts"
import { defaultBackend } from "../../runtime/backend/allBackends.ts"
import { loadFixture, need, relError } from "./fixture.ts"

const dir = mkdtempSync(join(tmpdir(), "ssl-kd-extract-"))
const ckpt = join(dir, "micro.safetensors")
const input = join(dir, "input.safetensors")
const lines: Array<string> = []
const io: CliIO = { out: (t) => lines.push(t), err: (t) => lines.push(t), cwd: dir, isTTY: false }
const run = (argv: Array<string>) => Effect.runPromise(Effect.result(command.run(argv, io)))
const args = (out: string) => ["--checkpoint", ckpt, "--arch", "vitMicroPatch7_28", "--input", input, "--out", out]

beforeAll(async () => {
  const fx = await loadFixture()
  const config = Effect.runSync(models.resolve("vitMicroPatch7_28"))
  const params = paramSpecs(config).map((s) => ({ name: s.name, shape: s.shape, data: need(fx, s.name).data }))
  await Effect.runPromise(writeSafetensors(ckpt, params))
  const images = need(fx, "images")
  await Effect.runPromise(writeSafetensors(input, [{ name: "images", shape: images.shape, data: images.data }]))
})

describe("ssl-kd extract", () => {
  it("writes logits, features and attn.N matching the PyTorch reference, without leaks", async () => {
    const out = join(dir, "out.safetensors")
    const before = tf.memory().numTensors
    const r = await run([...args(out), "--batch", "1", `--backend=${defaultBackend.name}`])
    expect(r._tag).toBe("Success")
    expect(tf.memory().numTensors).toBe(before)
    expect(lines.some((l) => l.startsWith(`tensor backend: ${defaultBackend.name}`))).toBe(true)
    const got = floatState(await Effect.runPromise(readSafetensors(out)))
    const fx = await loadFixture()
    expect([...got.keys()]).toEqual(["logits", "features", "attn.0", "attn.1"])
    for (const k of got.keys()) {
      expect(got.get(k)?.shape, k).toEqual(need(fx, k).shape)
      expect(relError(got.get(k)?.data ?? [], need(fx, k).data), k).toBeLessThan(1e-4)
    }
  })

  it("unknown and missing flags, unknown arch, wrong arch and missing images are typed errors", async () => {
    const out = join(dir, "bad.safetensors")
    const tag = async (argv: Array<string>) => {
      const r = await run(argv)
      return r._tag === "Failure" ? { tag: r.failure._tag, message: r.failure.message } : { tag: "Success", message: "" }
    }
    expect((await tag([...args(out), "--frobnicate", "1"])).tag).toBe("UnknownFlag")
    expect(await tag(["--arch", "vitMicroPatch7_28"])).toMatchObject({ tag: "MissingFlag", message: expect.stringContaining("--checkpoint") })
    expect((await tag([...args(out), "--batch", "0"])).tag).toBe("BadFlagValue")
    expect((await tag([...args(out).slice(0, -1)])).tag).toBe("BadFlagValue")
    const unknown = await tag(["--checkpoint", ckpt, "--arch", "vitMicroPatch7", "--input", input, "--out", out])
    expect(unknown.tag).toBe("UnknownNameError")
    expect(unknown.message).toContain("vitMicroPatch7_28")
    const wrong = await tag(["--checkpoint", ckpt, "--arch", "vitTinyPatch4_28", "--input", input, "--out", out])
    expect(wrong.tag).toBe("CheckpointMismatch")
    expect(wrong.message).toContain("blocks.11.attn.qkv.weight")
    expect((await tag(["--checkpoint", ckpt, "--arch", "vitMicroPatch7_28", "--input", ckpt, "--out", out])).tag).toBe("TensorNotFound")
    expect((await tag([...args(out), "--backend", "node-gpu"])).tag).toMatch(/BackendNotAvailable|Success/)
  })

  it("parseExtractArgs accepts --flag=value and defaults --batch to 16", () => {
    const a = Effect.runSync(parseExtractArgs(["--checkpoint=a", "--arch=b", "--input=c", "--out=d"]))
    expect(a).toEqual({ checkpoint: "a", arch: "b", input: "c", out: "d", batch: 16, backend: undefined })
  })
})
