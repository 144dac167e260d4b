/**
 * PyTorch `.pth` checkpoints through the restricted unpickler: the fixtures
 * written by `torch.save` (test/fixtures/pth/generate.py, Debian
 * python3-torch) load in the official DINO and MAE layouts with exactly the
 * weights of test/fixtures/vit/micro.safetensors (strided views and storage
 * offsets included); hostile files are refused with typed errors and nothing
 * they carry runs; hand-built archives check truncation, storages beyond the
 * file, tensors beyond their storage and refused opcodes.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Effect, Exit, Cause } from "effect"
import { describe, expect, it } from "vitest"
import { decodePth, loadVitState, pthStateDict, readPth, readStateFile, timmCheckpointFilter } from "../../../plugins/checkpoints/index.ts"
import { createVit, disposeVit, models } from "../../../plugins/models/index.ts"
import { floatState, readSafetensors, writeSafetensors } from "../../../plugins/checkpoints/index.ts"
import { command as extract } from "../../../plugins/cli/extract.ts"
import type { CliIO } from "../../../runtime/cli/Command.ts"
import { defaultBackend } from "../../runtime/backend/allBackends.ts"
import { storedZip as zip } from "../../fixtures/pth/pthWriter.ts"
import { loadFixture, need } from "../models/fixture.ts"

const fixture = (name: string) => path.join(import.meta.dirname, "../../fixtures/pth", name)
const failure = async <A, E>(eff: Effect.Effect<A, E>): Promise<E> => {
  const exit = await Effect.runPromiseExit(eff)
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const f = exit.cause.reasons.find(Cause.isFailReason)
  if (f === undefined) throw new Error(`not a typed failure: ${Cause.pretty(exit.cause)}`)
  return f.error
}

/** The micro fixture's parameters without head (what the DINO / MAE files hold). */
const encoder = async () => {
  const fx = await loadFixture()
  const config = Effect.runSync(models.resolve("vitMicroPatch7_28"))
  const names = (await import("../../../plugins/models/index.ts")).paramSpecs(config).map((s) => s.name).filter((n) => !n.startsWith("head."))
  return new Map(names.map((n) => [n, fx.get(n)!]))
}

const expectSame = (got: ReadonlyMap<string, { shape: ReadonlyArray<number>; data: Float32Array }>, want: ReadonlyMap<string, { shape: ReadonlyArray<number>; data: Float32Array }>) => {
  expect([...got.keys()].sort()).toEqual([...want.keys()].sort())
  for (const [k, w] of want) {
    expect(got.get(k)?.shape, k).toEqual(w.shape)
    expect(Array.from(got.get(k)!.data), k).toEqual(Array.from(w.data))
  }
}

describe("official layouts written by torch.save", () => {
  it("dino_plain.pth: a plain state dict, the micro weights exactly", async () => {
    const r = await Effect.runPromise(readStateFile(fixture("dino_plain.pth")))
    expect(r.format).toBe("pth")
    expect(r.notes).toEqual(["PyTorch checkpoint, state-dict layout"])
    expectSame(r.state, await encoder())
  })

  it("dino_full.pth: the teacher by default (backbone. stripped, DINOHead dropped), the student on request (module. stripped)", async () => {
    const want = await encoder()
    const contents = await Effect.runPromise(readPth(fixture("dino_full.pth")))
    const teacher = await Effect.runPromise(pthStateDict(contents))
    expect(teacher.layout).toBe("dino-teacher")
    expect(teacher.notes).toEqual([`read "teacher" (ignored: student, optimizer, epoch, args, dino_loss)`, "dropped the DINO projection head (4 tensors, head.*)"])
    expectSame(teacher.state, want)
    const student = await Effect.runPromise(pthStateDict(contents, { dinoNetwork: "student" }))
    expect(student.layout).toBe("dino-student")
    const norm = want.get("norm.weight")!
    expect(Array.from(student.state.get("norm.weight")!.data)).toEqual(Array.from(norm.data, (v) => Math.fround(v + 1)))
    expect(Array.from(student.state.get("blocks.1.mlp.fc2.weight")!.data)).toEqual(Array.from(want.get("blocks.1.mlp.fc2.weight")!.data))
  })

  it("mae_full.pth: the model key, strided and offset views read right, the decoder dropped with a note, fits the ViT", async () => {
    const want = await encoder()
    const r = await Effect.runPromise(readStateFile(fixture("mae_full.pth")))
    expect(r.notes).toEqual(["PyTorch checkpoint, mae layout", `read "model"`])
    const config = Effect.runSync(models.resolve("vitMicroPatch7_28"))
    const { state, notes } = timmCheckpointFilter(r.state, config)
    expect(notes.some((n) => n.includes("MAE pre-training tensors"))).toBe(true)
    expectSame(state, want) // includes blocks.0.attn.proj.weight (stride (1, 32)) and blocks.1.attn.qkv.bias (offset 5)
    const model = createVit("vitMicroPatch7_28", config, 0)
    await Effect.runPromise(loadVitState(model, state, "mae_full.pth", { keepHead: true }))
    disposeVit(model)
  })
})

describe("hostile files", () => {
  it("a GLOBAL of os.system is refused by name and does not run", async () => {
    fs.rmSync("/tmp/ssl-kd-pth-pwned", { force: true })
    const e = await failure(readStateFile(fixture("hostile_system.pth")))
    expect(e._tag).toBe("PthGlobalRefused")
    expect(e.message).toContain("posix.system") // os.system pickles as posix.system on Linux
    expect(e.message).toMatch(/data\.pkl byte \d+/)
    expect(fs.existsSync("/tmp/ssl-kd-pth-pwned")).toBe(false)
  })

  it("a REDUCE on a callable outside the tensor/dict rebuilders is refused", async () => {
    const e = await failure(readStateFile(fixture("hostile_reduce.pth")))
    expect(e._tag).toBe("PthCallRefused")
    expect(e.message).toContain("REDUCE on argparse.Namespace")
  })

  it("a truncated archive is a PthZipError, wherever it is cut", async () => {
    const bytes = new Uint8Array(fs.readFileSync(fixture("dino_plain.pth")))
    for (const keep of [10, 1000, bytes.length / 2, bytes.length - 30]) {
      const e = await failure(decodePth(bytes.subarray(0, Math.floor(keep)), "cut.pth"))
      expect(e._tag, String(keep)).toBe("PthZipError")
    }
    const none = await failure(decodePth(new TextEncoder().encode("plain text, not a checkpoint"), "text.pth"))
    expect(none.message).toContain("no zip signature")
  })
})

/** data.pkl of `{"w": tensor(storage "0" of `numel` floats, offset, size [n], stride [1])}`, by hand (protocol 2). */
const pickle = (o: { numel: number; offset: number; n: number; extra?: Array<number> }): Uint8Array => {
  const s = (t: string) => [0x58, ...Array.from(Buffer.alloc(4).fill(0).map((_, i) => (t.length >> (8 * i)) & 255)), ...Buffer.from(t)]
  const global = (m: string, n: string) => [0x63, ...Buffer.from(`${m}\n${n}\n`)]
  return Uint8Array.from([
    0x80, 2, 0x7d, ...s("w"), ...global("torch._utils", "_rebuild_tensor_v2"), 0x28,
    0x28, ...s("storage"), ...global("torch", "FloatStorage"), ...s("0"), ...s("cpu"), 0x4b, o.numel, 0x74, 0x51,
    0x4b, o.offset, 0x4b, o.n, 0x85, 0x4b, 1, 0x85, 0x89, ...global("collections", "OrderedDict"), 0x29, 0x52, 0x74, 0x52,
    0x73, ...(o.extra ?? []), 0x2e,
  ])
}
const floats = (xs: Array<number>) => new Uint8Array(Float32Array.from(xs).buffer)

describe("hand-built archives", () => {
  it("a well-formed one loads (the builder is right), with the offset applied", async () => {
    const bytes = zip([["a/data.pkl", pickle({ numel: 4, offset: 1, n: 3 })], ["a/data/0", floats([1, 2, 3, 4])], ["a/version", Buffer.from("3\n")]])
    const r = await Effect.runPromise(decodePth(bytes, "ok.pth").pipe(Effect.flatMap((c) => pthStateDict(c))))
    expect(Array.from(r.state.get("w")!.data)).toEqual([2, 3, 4])
  })

  it("a storage declaring more elements than its member holds (pointing beyond the file) is a PthStorageError", async () => {
    const bytes = zip([["a/data.pkl", pickle({ numel: 64, offset: 0, n: 4 })], ["a/data/0", floats([1, 2, 3, 4])]])
    const e = await failure(decodePth(bytes, "short.pth"))
    expect(e._tag).toBe("PthStorageError")
    expect(e.message).toContain("declares 64 FloatStorage elements (256 bytes) but a/data/0 holds 16 bytes")
    const missing = await failure(decodePth(zip([["a/data.pkl", pickle({ numel: 4, offset: 0, n: 4 })]]), "nodata.pth"))
    expect(missing.message).toContain("a/data/0 is missing")
  })

  it("a tensor reaching past its storage is a PthPickleError", async () => {
    const e = await failure(decodePth(zip([["a/data.pkl", pickle({ numel: 4, offset: 2, n: 4 })], ["a/data/0", floats([1, 2, 3, 4])]]), "over.pth"))
    expect(e._tag).toBe("PthPickleError")
    expect(e.message).toContain("reaches element 5 of storage 0, which has 4")
  })

  it("opcodes outside the state-dict subset are refused by name; a truncated pickle is malformed", async () => {
    const inst = pickle({ numel: 4, offset: 0, n: 4 }).slice(0, -1)
    const bytes = zip([["a/data.pkl", Uint8Array.from([...inst, 0x69, ...Buffer.from("os\nsystem\n"), 0x2e])], ["a/data/0", floats([1, 2, 3, 4])]])
    const e = await failure(decodePth(bytes, "inst.pth"))
    expect(e._tag).toBe("PthOpcodeRefused")
    expect(e.message).toContain("INST (0x69)")
    const cut = await failure(decodePth(zip([["a/data.pkl", pickle({ numel: 4, offset: 0, n: 4 }).slice(0, 40)], ["a/data/0", floats([1, 2, 3, 4])]]), "cut.pth"))
    expect(cut._tag).toBe("PthPickleError")
  })

  it("a top level that is no known layout is a PthLayoutError naming its keys", async () => {
    const bytes = zip([["a/data.pkl", Uint8Array.from([0x80, 2, 0x7d, 0x58, 1, 0, 0, 0, 0x78, 0x4b, 1, 0x73, 0x2e])]])
    const e = await failure(decodePth(bytes, "x.pth").pipe(Effect.flatMap((c) => pthStateDict(c))))
    expect(e._tag).toBe("PthLayoutError")
    expect(e.message).toContain("top-level keys [x] are not all tensors")
  })
})

describe("ssl-kd extract on .pth", () => {
  it("dino_plain.pth and mae_full.pth give exactly the outputs of the same weights as safetensors", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ssl-kd-pth-extract-"))
    const st = path.join(dir, "encoder.safetensors")
    const input = path.join(dir, "input.safetensors")
    await Effect.runPromise(writeSafetensors(st, [...(await encoder())].map(([name, t]) => ({ name, shape: t.shape, data: t.data }))))
    const images = need(await loadFixture(), "images")
    await Effect.runPromise(writeSafetensors(input, [{ name: "images", shape: images.shape, data: images.data }]))
    const lines: Array<string> = []
    const io: CliIO = { out: (t) => lines.push(t), err: (t) => lines.push(t), cwd: dir, isTTY: false }
    const outputs = async (checkpoint: string) => {
      const out = path.join(dir, `${path.basename(checkpoint)}.out.safetensors`)
      const argv = ["--checkpoint", checkpoint, "--arch", "vitMicroPatch7_28", "--input", input, "--out", out, `--backend=${defaultBackend.name}`]
      const r = await Effect.runPromise(Effect.result(extract.run(argv, io)))
      expect(r._tag, lines.join("\n")).toBe("Success")
      return floatState(await Effect.runPromise(readSafetensors(out)))
    }
    const reference = await outputs(st)
    expect([...reference.keys()]).toEqual(["features", "attn.0", "attn.1"])
    for (const file of ["dino_plain.pth", "mae_full.pth"]) expectSame(await outputs(fixture(file)), reference)
    expect(lines).toContain("checkpoint: PyTorch checkpoint, mae layout")
    fs.rmSync(dir, { recursive: true })
  })
})

describe("readStateFile", () => {
  it("reads safetensors as before", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ssl-kd-pth-"))
    const r = await Effect.runPromise(readStateFile(path.join(import.meta.dirname, "../../fixtures/vit/micro.safetensors")))
    expect(r.format).toBe("safetensors")
    expect(r.state.get("cls_token")?.shape).toEqual([1, 1, 32])
    fs.rmSync(dir, { recursive: true })
  })
})
