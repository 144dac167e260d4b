/**
 * A restricted unpickler for PyTorch's `data.pkl`: a stack machine for the
 * pickle opcodes that state dicts and training checkpoints use (protocols
 * 2-4: containers, numbers, strings, memo, PROTO/FRAME/STOP) and nothing
 * else. It never imports or calls anything: a `GLOBAL` becomes a name, and
 * only these names are accepted:
 *
 * - `torch._utils._rebuild_tensor_v2` / `_rebuild_parameter` (REDUCE): a
 *   {@link PickledTensor} description (storage, offset, size, stride);
 * - `collections.OrderedDict` (REDUCE with no arguments): a dict;
 * - `torch.<Type>Storage` (inside a `BINPERSID` storage id only);
 * - `argparse.Namespace` (NEWOBJ, then BUILD): DINO's training `args`.
 *
 * Any other opcode, global or call is a typed error naming it and its byte
 * offset; malformed streams (truncation, stack underflow, unknown memo keys)
 * are {@link PthPickleError}s. Storages are resolved by the caller
 * (`resolveStorage`), so their bounds are checked while reading.
 */
import { PthCallRefused, PthGlobalRefused, PthOpcodeRefused, PthPickleError } from "./errors.ts"

/** A storage that a tensor views: archive member `data/<key>`, `numel` elements of `dtype`. */
export interface StorageRef {
  readonly kind: "storage"
  readonly key: string
  readonly dtype: string
  readonly numel: number
}

/** A tensor as pickled: a strided view of a storage (materialized by `file.ts`). */
export interface PickledTensor {
  readonly kind: "tensor"
  readonly storage: StorageRef
  readonly offset: number
  readonly shape: ReadonlyArray<number>
  readonly stride: ReadonlyArray<number>
}

export type PickleKey = string | number | boolean | null
/** A dict (plain or OrderedDict); `state` holds what BUILD gave it (e.g. a state dict's `_metadata`). */
export interface PickledDict {
  readonly kind: "dict"
  readonly entries: Map<PickleKey, PickleValue>
  state?: PickleValue
}
export interface PickledObject {
  readonly kind: "object"
  readonly type: string
  attrs: PickleValue
}
export interface PickledGlobal {
  readonly kind: "global"
  readonly name: string
}
export type PickleValue =
  | null
  | boolean
  | number
  | string
  | Uint8Array
  | { readonly kind: "list"; readonly items: Array<PickleValue> }
  | { readonly kind: "tuple"; readonly items: ReadonlyArray<PickleValue> }
  | PickledDict
  | PickledObject
  | PickledGlobal
  | StorageRef
  | PickledTensor

/** Storage types and their element sizes (bytes). */
export const storageTypes: Readonly<Record<string, number>> = {
  FloatStorage: 4,
  HalfStorage: 2,
  BFloat16Storage: 2,
  DoubleStorage: 8,
  LongStorage: 8,
  IntStorage: 4,
  ShortStorage: 2,
  CharStorage: 1,
  ByteStorage: 1,
  BoolStorage: 1,
}

const TENSOR_REBUILDERS = ["torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter"]
/** Every global the unpickler accepts. */
export const allowedGlobals: ReadonlyArray<string> = [
  ...TENSOR_REBUILDERS,
  "collections.OrderedDict",
  "argparse.Namespace",
  ...Object.keys(storageTypes).map((t) => `torch.${t}`),
]
const REDUCIBLE = [...TENSOR_REBUILDERS, "collections.OrderedDict"]

const OPNAMES: Readonly<Record<number, string>> = {
  0x80: "PROTO", 0x95: "FRAME", 0x2e: "STOP", 0x28: "MARK", 0x7d: "EMPTY_DICT", 0x5d: "EMPTY_LIST", 0x29: "EMPTY_TUPLE",
  0x74: "TUPLE", 0x85: "TUPLE1", 0x86: "TUPLE2", 0x87: "TUPLE3", 0x73: "SETITEM", 0x75: "SETITEMS", 0x61: "APPEND",
  0x65: "APPENDS", 0x4e: "NONE", 0x88: "NEWTRUE", 0x89: "NEWFALSE", 0x4a: "BININT", 0x4b: "BININT1", 0x4d: "BININT2",
  0x8a: "LONG1", 0x47: "BINFLOAT", 0x58: "BINUNICODE", 0x8c: "SHORT_BINUNICODE", 0x8d: "BINUNICODE8", 0x54: "BINSTRING",
  0x55: "SHORT_BINSTRING", 0x42: "BINBYTES", 0x43: "SHORT_BINBYTES", 0x71: "BINPUT", 0x72: "LONG_BINPUT", 0x94: "MEMOIZE",
  0x68: "BINGET", 0x6a: "LONG_BINGET", 0x63: "GLOBAL", 0x93: "STACK_GLOBAL", 0x52: "REDUCE", 0x81: "NEWOBJ", 0x62: "BUILD",
  0x51: "BINPERSID", 0x30: "POP", 0x31: "POP_MARK",
  // Known but refused (they import, call or build arbitrary objects):
  0x69: "INST", 0x6f: "OBJ", 0x92: "NEWOBJ_EX", 0x50: "PERSID", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4", 0x49: "INT",
  0x4c: "LONG", 0x46: "FLOAT", 0x53: "STRING", 0x56: "UNICODE", 0x70: "PUT", 0x67: "GET", 0x64: "DICT", 0x6c: "LIST",
  0x8f: "EMPTY_SET", 0x90: "ADDITEMS", 0x91: "FROZENSET", 0x8b: "LONG4", 0x8e: "BINBYTES8", 0x96: "BYTEARRAY8",
  0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER", 0x32: "DUP",
}

const describe = (v: PickleValue): string => {
  if (v === null) return "None"
  if (typeof v !== "object") return `${typeof v} ${JSON.stringify(v)}`
  if (v instanceof Uint8Array) return "bytes"
  return v.kind === "global" ? v.name : v.kind === "object" ? `a ${v.type} object` : `a ${v.kind}`
}

const isKey = (v: PickleValue): v is PickleKey => v === null || typeof v !== "object"

/**
 * Reads `data.pkl`. `resolveStorage(id, offset)` turns a persistent id
 * (`("storage", <type global>, key, location, numel)`) into a {@link StorageRef},
 * throwing a typed error when the storage is missing or too short.
 * Throws the typed errors of this module (the caller wraps it in `Effect.try`).
 */
export const unpickle = (file: string, b: Uint8Array, resolveStorage: (type: string, key: string, numel: number, offset: number) => StorageRef): PickleValue => {
  const stack: Array<PickleValue> = []
  const marks: Array<number> = []
  const memo = new Map<number, PickleValue>()
  let at = 0
  let op = 0
  const bad = (problem: string): never => {
    throw new PthPickleError({ file, offset: op, problem })
  }
  const need = (n: number) => {
    if (at + n > b.length) bad(`needs ${n} more bytes at ${at}, data.pkl has ${b.length} (truncated)`)
  }
  const u8 = () => (need(1), b[at++] as number)
  const u16 = () => (need(2), (at += 2), (b[at - 2] as number) | ((b[at - 1] as number) << 8))
  const i32 = () => (need(4), (at += 4), new DataView(b.buffer, b.byteOffset + at - 4, 4).getInt32(0, true))
  const u32 = () => i32() >>> 0
  const u64 = () => {
    const lo = u32()
    const hi = u32()
    if (hi > 0x1fffff) bad("a length over 2^53")
    return hi * 2 ** 32 + lo
  }
  const take = (n: number) => (need(n), (at += n), b.subarray(at - n, at))
  const utf8 = (n: number) => new TextDecoder("utf-8", { fatal: false }).decode(take(n))
  const pop = (): PickleValue => (stack.length === 0 || (marks.length > 0 && stack.length <= (marks.at(-1) as number)) ? bad("stack underflow") : (stack.pop() as PickleValue))
  const top = (): PickleValue => (stack.length === 0 ? bad("stack underflow") : (stack.at(-1) as PickleValue))
  const popMark = (): Array<PickleValue> => {
    const m = marks.pop()
    if (m === undefined) return bad("no MARK to pop to")
    return stack.splice(m)
  }
  const int = (v: PickleValue, what: string): number =>
    typeof v === "number" && Number.isSafeInteger(v) ? v : bad(`${what} is ${describe(v)}, expected an integer`)
  const ints = (v: PickleValue, what: string): Array<number> =>
    typeof v === "object" && v !== null && !(v instanceof Uint8Array) && v.kind === "tuple" ? v.items.map((x) => int(x, what)) : bad(`${what} is ${describe(v)}, expected a tuple of integers`)
  const setItems = (d: PickleValue, kv: ReadonlyArray<PickleValue>) => {
    if (typeof d !== "object" || d === null || d instanceof Uint8Array || d.kind !== "dict") return bad(`SETITEM(S) on ${describe(d)}`)
    for (let i = 0; i + 1 < kv.length; i += 2) {
      const k = kv[i] as PickleValue
      if (!isKey(k)) return bad(`dict key ${describe(k)}, expected a string or number`)
      d.entries.set(k, kv[i + 1] as PickleValue)
    }
  }
  const global = (name: string): PickleValue => {
    if (!allowedGlobals.includes(name)) throw new PthGlobalRefused({ file, offset: op, global: name, allowed: allowedGlobals })
    return { kind: "global", name }
  }
  const call = (opcode: string, fn: PickleValue, args: PickleValue): PickleValue => {
    const name = typeof fn === "object" && fn !== null && !(fn instanceof Uint8Array) && fn.kind === "global" ? fn.name : undefined
    const allowed = opcode === "NEWOBJ" ? ["argparse.Namespace"] : REDUCIBLE
    if (name === undefined || !allowed.includes(name)) throw new PthCallRefused({ file, offset: op, opcode, callable: describe(fn), allowed })
    const a = typeof args === "object" && args !== null && !(args instanceof Uint8Array) && args.kind === "tuple" ? args.items : bad(`${opcode} arguments are ${describe(args)}, expected a tuple`)
    if (name === "argparse.Namespace" || name === "collections.OrderedDict") {
      if (a.length !== 0) bad(`${name} called with ${a.length} arguments, expected none`)
      return name === "argparse.Namespace" ? { kind: "object", type: name, attrs: null } : { kind: "dict", entries: new Map() }
    }
    if (name === "torch._utils._rebuild_parameter") {
      const t = a[0] as PickleValue
      return typeof t === "object" && t !== null && !(t instanceof Uint8Array) && t.kind === "tensor" ? t : bad(`_rebuild_parameter of ${describe(t)}, expected a tensor`)
    }
    const storage = a[0] as PickleValue
    if (a.length < 4 || typeof storage !== "object" || storage === null || storage instanceof Uint8Array || storage.kind !== "storage")
      return bad(`_rebuild_tensor_v2 arguments (${a.map(describe).join(", ")}), expected (storage, offset, size, stride, ...)`)
    const offset = int(a[1] as PickleValue, "storage offset")
    const shape = ints(a[2] as PickleValue, "size")
    const stride = ints(a[3] as PickleValue, "stride")
    if (shape.length !== stride.length || shape.some((d) => d < 0) || stride.some((s) => s < 0) || offset < 0)
      return bad(`tensor size [${shape}] / stride [${stride}] / offset ${offset} are inconsistent`)
    const numel = shape.reduce((x, y) => x * y, 1)
    const last = numel === 0 ? offset : offset + shape.reduce((s, d, i) => s + (d - 1) * (stride[i] as number), 0)
    if (numel > 0 && last >= storage.numel)
      return bad(`tensor [${shape}] at offset ${offset} with stride [${stride}] reaches element ${last} of storage ${storage.key}, which has ${storage.numel}`)
    return { kind: "tensor", storage, offset, shape, stride }
  }

  for (;;) {
    op = at
    const code = u8()
    switch (code) {
      case 0x80: u8(); break // PROTO
      case 0x95: take(8); break // FRAME: length only
      case 0x2e: { // STOP
        if (stack.length !== 1) bad(`STOP with ${stack.length} values on the stack, expected 1`)
        return stack[0] as PickleValue
      }
      case 0x28: marks.push(stack.length); break
      case 0x7d: stack.push({ kind: "dict", entries: new Map() }); break
      case 0x5d: stack.push({ kind: "list", items: [] }); break
      case 0x29: stack.push({ kind: "tuple", items: [] }); break
      case 0x74: stack.push({ kind: "tuple", items: popMark() }); break
      case 0x85: case 0x86: case 0x87: {
        const n = code - 0x84
        const items: Array<PickleValue> = []
        for (let i = 0; i < n; i++) items.unshift(pop())
        stack.push({ kind: "tuple", items })
        break
      }
      case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break }
      case 0x75: { const kv = popMark(); setItems(top(), kv); break }
      case 0x61: case 0x65: {
        const items = code === 0x61 ? [pop()] : popMark()
        const l = top()
        if (typeof l !== "object" || l === null || l instanceof Uint8Array || l.kind !== "list") bad(`APPEND(S) on ${describe(l)}`)
        ;(l as { items: Array<PickleValue> }).items.push(...items)
        break
      }
      case 0x4e: stack.push(null); break
      case 0x88: stack.push(true); break
      case 0x89: stack.push(false); break
      case 0x4a: stack.push(i32()); break
      case 0x4b: stack.push(u8()); break
      case 0x4d: stack.push(u16()); break
      case 0x8a: { // LONG1: little-endian two's complement
        const bytes = take(u8())
        let v = 0n
        for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i] as number)
        if (bytes.length > 0 && ((bytes.at(-1) as number) & 0x80) !== 0) v -= 1n << BigInt(8 * bytes.length)
        stack.push(Number(v))
        break
      }
      case 0x47: { need(8); stack.push(new DataView(b.buffer, b.byteOffset + at, 8).getFloat64(0, false)); at += 8; break }
      case 0x58: stack.push(utf8(u32())); break
      case 0x8c: stack.push(utf8(u8())); break
      case 0x8d: stack.push(utf8(u64())); break
      case 0x54: stack.push(new TextDecoder("latin1").decode(take(u32()))); break
      case 0x55: stack.push(new TextDecoder("latin1").decode(take(u8()))); break
      case 0x42: stack.push(take(u32()).slice()); break
      case 0x43: stack.push(take(u8()).slice()); break
      case 0x71: memo.set(u8(), top()); break
      case 0x72: memo.set(u32(), top()); break
      case 0x94: memo.set(memo.size, top()); break
      case 0x68: case 0x6a: {
        const k = code === 0x68 ? u8() : u32()
        if (!memo.has(k)) bad(`memo entry ${k} was never stored`)
        stack.push(memo.get(k) as PickleValue)
        break
      }
      case 0x63: { // GLOBAL "module\nname\n"
        const line = () => {
          const end = b.indexOf(0x0a, at)
          if (end < 0 || end - at > 256) return bad("GLOBAL without a newline-terminated name")
          return new TextDecoder("latin1").decode(take(end - at + 1)).slice(0, -1)
        }
        const mod = line()
        stack.push(global(`${mod}.${line()}`))
        break
      }
      case 0x93: { const name = pop(); const mod = pop(); stack.push(global(`${String(mod)}.${String(name)}`)); break }
      case 0x52: case 0x81: { const args = pop(); const fn = pop(); stack.push(call(code === 0x52 ? "REDUCE" : "NEWOBJ", fn, args)); break }
      case 0x62: { // BUILD: only a dict's extra state (state_dict _metadata) or a Namespace's attributes
        const state = pop()
        const obj = top()
        if (typeof obj === "object" && obj !== null && !(obj instanceof Uint8Array) && obj.kind === "dict") obj.state = state
        else if (typeof obj === "object" && obj !== null && !(obj instanceof Uint8Array) && obj.kind === "object") obj.attrs = state
        else throw new PthCallRefused({ file, offset: op, opcode: "BUILD", callable: describe(obj), allowed: ["collections.OrderedDict", "argparse.Namespace"] })
        break
      }
      case 0x51: { // BINPERSID: ("storage", type, key, location, numel)
        const pid = pop()
        const items = typeof pid === "object" && pid !== null && !(pid instanceof Uint8Array) && pid.kind === "tuple" ? pid.items : bad(`persistent id ${describe(pid)}, expected a tuple`)
        const [tag, type, key, , numel] = items
        const typeName = typeof type === "object" && type !== null && !(type instanceof Uint8Array) && type.kind === "global" ? type.name : ""
        if (tag !== "storage" || !typeName.startsWith("torch.") || typeof key !== "string")
          bad(`persistent id (${items.map(describe).join(", ")}), expected ("storage", torch.<Type>Storage, key, location, numel)`)
        stack.push(resolveStorage(typeName.slice("torch.".length), key as string, int(numel as PickleValue, "storage numel"), op))
        break
      }
      case 0x30: pop(); break
      case 0x31: popMark(); break
      default:
        throw new PthOpcodeRefused({ file, offset: op, opcode: `${OPNAMES[code] ?? "unknown"} (0x${code.toString(16).padStart(2, "0")})` })
    }
  }
}
