/**
 * Writes PyTorch `.pth` files (the zip format of `torch.save` since 1.6) from
 * TypeScript, for generated checkpoints in the official layouts (the
 * imagenet miniature's random ViT-B/16 DINO and MAE files): `data.pkl` in
 * pickle protocol 2 with each tensor as `torch._utils._rebuild_tensor_v2`
 * of a `FloatStorage` persistent id, storages in `data/<key>`, plus
 * `version` and `byteorder`. Only what a state dict needs: nested dicts of
 * float32 tensors (contiguous), strings and ints.
 */
import * as fs from "node:fs"
import * as zlib from "node:zlib"

export interface PthTensor {
  readonly shape: ReadonlyArray<number>
  readonly data: Float32Array
}
export type PthValue = PthTensor | string | number | { readonly [key: string]: PthValue }

const isTensor = (v: PthValue): v is PthTensor => typeof v === "object" && v !== null && "data" in v && v.data instanceof Float32Array

class Pickler {
  readonly bytes: Array<number> = []
  readonly storages: Array<Float32Array> = []
  op(...b: Array<number>) {
    for (const x of b) this.bytes.push(x)
  }
  u32(n: number) {
    this.op(n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255)
  }
  str(s: string) {
    const b = Buffer.from(s, "utf8")
    this.op(0x58) // BINUNICODE
    this.u32(b.length)
    this.op(...b)
  }
  int(n: number) {
    if (!Number.isInteger(n) || n < 0 || n > 0x7fffffff) throw new RangeError(`pth writer: int ${n} out of range`)
    if (n < 256) this.op(0x4b, n) // BININT1
    else {
      this.op(0x4a) // BININT
      this.u32(n)
    }
  }
  global(module: string, name: string) {
    this.op(0x63, ...Buffer.from(`${module}\n${name}\n`, "latin1"))
  }
  tuple(items: ReadonlyArray<() => void>) {
    this.op(0x28) // MARK
    for (const f of items) f()
    this.op(0x74) // TUPLE
  }
  tensor(t: PthTensor) {
    const key = String(this.storages.length)
    this.storages.push(t.data)
    const stride: Array<number> = []
    let s = 1
    for (let i = t.shape.length - 1; i >= 0; i--) {
      stride.unshift(s)
      s *= t.shape[i]!
    }
    this.global("torch._utils", "_rebuild_tensor_v2")
    this.tuple([
      () => {
        this.tuple([() => this.str("storage"), () => this.global("torch", "FloatStorage"), () => this.str(key), () => this.str("cpu"), () => this.int(t.data.length)])
        this.op(0x51) // BINPERSID
      },
      () => this.int(0),
      () => this.tuple(t.shape.map((d) => () => this.int(d))),
      () => this.tuple(stride.map((d) => () => this.int(d))),
      () => this.op(0x89), // False (requires_grad)
      () => {
        this.global("collections", "OrderedDict")
        this.op(0x29, 0x52) // EMPTY_TUPLE, REDUCE
      },
    ])
    this.op(0x52) // REDUCE
  }
  value(v: PthValue) {
    if (typeof v === "string") return this.str(v)
    if (typeof v === "number") return this.int(v)
    if (isTensor(v)) return this.tensor(v)
    this.op(0x7d) // EMPTY_DICT
    const entries = Object.entries(v)
    if (entries.length === 0) return
    this.op(0x28) // MARK
    for (const [k, x] of entries) {
      this.str(k)
      this.value(x)
    }
    this.op(0x75) // SETITEMS
  }
}

/** A stored (uncompressed) zip of `members` (sizes below 4 GiB each). */
const zip = (file: string, members: ReadonlyArray<readonly [string, Uint8Array]>): void => {
  const fd = fs.openSync(file, "w")
  try {
    const central: Array<Buffer> = []
    let at = 0
    for (const [name, data] of members) {
      const n = Buffer.from(name)
      const crc = zlib.crc32(data)
      const local = Buffer.alloc(30)
      local.writeUInt32LE(0x04034b50, 0)
      local.writeUInt16LE(20, 4)
      local.writeUInt32LE(crc, 14)
      local.writeUInt32LE(data.length, 18)
      local.writeUInt32LE(data.length, 22)
      local.writeUInt16LE(n.length, 26)
      const c = Buffer.alloc(46)
      c.writeUInt32LE(0x02014b50, 0)
      c.writeUInt16LE(20, 6)
      c.writeUInt32LE(crc, 16)
      c.writeUInt32LE(data.length, 20)
      c.writeUInt32LE(data.length, 24)
      c.writeUInt16LE(n.length, 28)
      c.writeUInt32LE(at, 42)
      central.push(c, n)
      fs.writeSync(fd, local)
      fs.writeSync(fd, n)
      fs.writeSync(fd, data)
      at += 30 + n.length + data.length
    }
    const cd = Buffer.concat(central)
    fs.writeSync(fd, cd)
    const end = Buffer.alloc(22)
    end.writeUInt32LE(0x06054b50, 0)
    end.writeUInt16LE(members.length, 8)
    end.writeUInt16LE(members.length, 10)
    end.writeUInt32LE(cd.length, 12)
    end.writeUInt32LE(at, 16)
    fs.writeSync(fd, end)
  } finally {
    fs.closeSync(fd)
  }
}

/** Writes `root` (a dict) as `torch.save` would, under the archive folder `archive`. */
export const writePth = (file: string, root: { readonly [key: string]: PthValue }, archive = "archive"): void => {
  const p = new Pickler()
  p.op(0x80, 2) // PROTO 2
  p.value(root)
  p.op(0x2e) // STOP
  zip(file, [
    [`${archive}/data.pkl`, Uint8Array.from(p.bytes)],
    [`${archive}/byteorder`, Buffer.from("little")],
    ...p.storages.map((s, i) => [`${archive}/data/${i}`, new Uint8Array(s.buffer, s.byteOffset, s.byteLength)] as const),
    [`${archive}/version`, Buffer.from("3\n")],
  ])
}
