#!/usr/bin/env node
/**
 * Did a code change change any result? Compares two ssl-kd stores made by the
 * same pipeline and preset under two checkouts (e.g. before and after a
 * refactor, on the same machine), node by node: payload files by checksum,
 * and for JSON payloads the leaf paths whose values differ (array indices
 * shown as #), each with how many nodes. Wall-clock fields (seconds,
 * startedAt, ...) always differ; anything else is a change of results.
 * Used before `ssl-kd cache adopt` (README, "Adopting entries after a refactor").
 *
 *   node test/tools/compareStores.mjs <storeA> <storeB>
 */
import fs from "node:fs"; import path from "node:path"; import crypto from "node:crypto"
const read = (root) => { const out = new Map()
  for (const d of fs.readdirSync(path.join(root, "entries"))) for (const k of fs.readdirSync(path.join(root, "entries", d))) {
    const dir = path.join(root, "entries", d, k); const m = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8"))
    out.set(m.node, { dir, files: m.files }) }
  return out }
const leaves = (v, p = "", out = new Map()) => { if (v && typeof v === "object") { for (const [k, x] of Object.entries(v)) leaves(x, p ? `${p}.${k}` : k, out) } else out.set(p, v); return out }
const [a, b] = [read(process.argv[2]), read(process.argv[3])]
const diffPaths = new Map(); let identical = 0; const other = []
for (const [n, x] of a) { const y = b.get(n); if (!y) { other.push(`${n} only in A`); continue }
  let nodeSame = true
  for (const f of x.files) { const g = y.files.find((h) => h.name === f.name); if (!g) { other.push(`${n}/${f.name} missing in B`); nodeSame = false; continue }
    if (f.sha256 === g.sha256) continue
    nodeSame = false
    if (!f.name.endsWith(".json")) { other.push(`${n}/${f.name} (binary) differs`); continue }
    const [la, lb] = [leaves(JSON.parse(fs.readFileSync(path.join(x.dir, "payload", f.name), "utf8"))), leaves(JSON.parse(fs.readFileSync(path.join(y.dir, "payload", f.name), "utf8")))]
    for (const k of new Set([...la.keys(), ...lb.keys()])) if (la.get(k) !== lb.get(k)) { const key = k.replace(/\.\d+(?=\.|$)/g, ".#"); diffPaths.set(key, [...(diffPaths.get(key) ?? []), n]) } }
  if (nodeSame) identical++ }
console.log(JSON.stringify({ nodes: a.size, identical, binaryOrOther: other, differingJsonLeaves: Object.fromEntries([...diffPaths].map(([k, v]) => [k, `${v.length} nodes, e.g. ${v.slice(0, 3).join(", ")}`])) }, null, 1))
