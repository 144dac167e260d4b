/**
 * `ssl-kd cache ls|verify|gc [--cache-dir D] [--json]`
 *
 * - `ls`: every entry with its stage, node, pipeline, size and date.
 * - `verify`: checks every payload file against its checksum; lists corrupt
 *   entries (exit 1 if any); `--repair` moves them to `corrupt/` so the next
 *   run recomputes them.
 * - `gc [--keep-runs N] [--dry-run]`: removes what no recent run used (see
 *   `runtime/cache/gc.ts`).
 * - `adopt <pipeline.ts> [--preset P] [--set ...] [--dry-run]`: gives each
 *   node that misses only because its code changed the entry of the older
 *   code (same config, data and inputs; `runtime/executor/adopt.ts`), naming
 *   what changed in the code.
 */
import { Effect } from "effect"
import { collectGarbage } from "../../cache/gc.ts"
import { ensureStore, makeFileStore } from "../../cache/Store.ts"
import { Executor } from "../../executor/Executor.ts"
import { formatDuration } from "../../progress/Progress.ts"
import { parseSets, parseWith, requirePositional, UsageError } from "../args.ts"
import type { CommandHelp } from "../help.ts"
import type { CliCommand, CliIO } from "../Command.ts"
import { loadPipeline } from "../loadPipeline.ts"
import { applyDataDir, cacheDirOf, executorLayer, pipelineOptions, remoteStoreOf, short, table } from "../session.ts"

const usage = "ssl-kd cache ls|verify|gc [--cache-dir D | --remote-store URL] [--json] [--repair] [--keep-runs N] [--keep-hours H] [--dry-run] | ssl-kd cache adopt <pipeline.ts> [--preset P] [--set NODE.FIELD=VALUE]... [--dry-run]"

export const help = {
  usage,
  summary: "Inspect the artifact store: list entries, verify checksums, collect garbage, adopt entries of older code after a refactor.",
  args: {
    "ls|verify|gc|adopt":
      "ls lists every entry; verify checks every payload file's sha256 (exit 1 if one is corrupt); gc removes entries no recent run used; " +
      "adopt <pipeline.ts> carries entries of older code to the nodes that miss only because their code changed (same config, data and inputs), naming what changed: " +
      "for changes that do not change results (a refactor, a log line); check with --dry-run first.",
  },
  options: {
    "cache-dir": pipelineOptions["cache-dir"],
    "remote-store": {
      ...pipelineOptions["remote-store"],
      text: "List, verify or collect garbage in this remote store instead of the local one (its run records are those of every machine's runs); with adopt, the store the local one reads through to.",
      example: "ssl-kd cache verify --remote-store file:///shared/ssl-kd",
    },
    json: { type: "boolean", text: "Print one JSON object on stdout.", example: "ssl-kd cache ls --json" },
    repair: { type: "boolean", text: "With verify: move corrupt entries to corrupt/ so the next run recomputes them.", example: "ssl-kd cache verify --repair" },
    "keep-runs": { type: "string", value: "N", text: "With gc: keep the entries used by the last N runs of each pipeline (default 1).", example: "ssl-kd cache gc --keep-runs 3" },
    "keep-hours": {
      type: "string",
      value: "H",
      text: "With gc: also keep every entry committed in the last H hours (default 0 locally, 24 on a remote store, where another machine's run may be committing entries its run record does not name yet).",
      example: "ssl-kd cache gc --remote-store file:///shared/ssl-kd --keep-hours 2",
    },
    "dry-run": { type: "boolean", text: "With gc or adopt: say what would be removed or adopted, change nothing.", example: "ssl-kd cache adopt pipelines/paper.ts --preset repro --dry-run" },
    preset: pipelineOptions.preset,
    set: pipelineOptions.set,
    "data-dir": pipelineOptions["data-dir"],
  },
} as const satisfies CommandHelp

const bytes = (n: number) => (n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} KiB` : n < 1024 ** 3 ? `${(n / 1024 ** 2).toFixed(1)} MiB` : `${(n / 1024 ** 3).toFixed(2)} GiB`)

const adopt = (
  values: { readonly "cache-dir"?: string | undefined; readonly "remote-store"?: string | undefined; readonly "data-dir"?: string | undefined; readonly preset?: string | undefined; readonly set?: ReadonlyArray<string> | undefined; readonly json?: boolean | undefined; readonly "dry-run"?: boolean | undefined },
  positionals: ReadonlyArray<string>,
  io: CliIO,
) =>
  Effect.gen(function* () {
    applyDataDir(io, values["data-dir"])
    const file = yield* requirePositional("cache adopt", usage, positionals, 1, "the pipeline file")
    const set = yield* parseSets("cache adopt", usage, values.set ?? [])
    const pipeline = yield* loadPipeline(file, io.cwd, values.preset)
    const dryRun = values["dry-run"] === true
    const report = yield* Executor.use((e) => e.adopt(pipeline, { preset: values.preset, set, dryRun })).pipe(
      Effect.provide(executorLayer(io, { "cache-dir": values["cache-dir"], quiet: true }, yield* remoteStoreOf(io, values["remote-store"]))),
    )
    if (values.json === true) {
      io.out(JSON.stringify(report))
      return 0
    }
    if (report.adopted.length > 0) {
      io.out(table([
        ["stage", "key", "from entry", "computed", "took", "code"],
        ...report.adopted.map((a) => [a.node, short(a.key), `${short(a.from.key)} (${a.from.pipeline}/${a.from.node})`, a.from.finishedAt, formatDuration(a.from.durationMs), a.code]),
      ]))
    }
    if (report.left.length > 0) {
      io.out(table([["stage", "not adopted"], ...report.left.map((l) => [l.node, l.reason])]))
    }
    const stageTime = report.adopted.reduce((t, a) => t + a.from.durationMs, 0)
    io.err(`${dryRun ? "would adopt" : "adopted"} ${report.adopted.length} entries (${formatDuration(stageTime)} of stage time not recomputed); ` +
      `${report.cached.length} already cached; ${report.left.length} left to run`)
    return 0
  })

export const command: CliCommand = {
  name: "cache",
  summary: "list, verify, garbage-collect or adopt entries of the artifact store",
  usage,
  help,
  run: (argv, io) =>
    Effect.gen(function* () {
      const { values, positionals } = yield* parseWith("cache", help, argv)
      const sub = yield* requirePositional("cache", usage, positionals, 0, "a sub-command (ls, verify or gc)")
      if (sub === "adopt") return yield* adopt(values, positionals, io)
      const remote = sub === "ls" || sub === "verify" || sub === "gc" ? yield* remoteStoreOf(io, values["remote-store"], { create: false }) : undefined
      if (remote !== undefined && remote.folder === undefined) {
        return yield* new UsageError({ command: `cache ${sub}`, usage, problem: `--remote-store ${remote.url}: this backend is not a store folder; cache ${sub} works on file:// remote stores` })
      }
      const store = remote?.folder ?? makeFileStore(cacheDirOf(io, values["cache-dir"]))
      // never list, repair or clean a folder that is not a store (a mistyped --cache-dir)
      if (sub === "ls" || sub === "verify" || sub === "gc") yield* ensureStore(store.root, { create: false })
      if (sub === "ls" || sub === "verify") {
        const level = sub === "ls" ? "size" : "full"
        const rows: Array<{ key: string; status: "ok" | "corrupt"; stage?: string; node?: string; pipeline?: string; bytes?: number; createdAt?: string; durationMs?: number; peakRssBytes?: number; reason?: string; adoptedFrom?: string }> = []
        for (const key of yield* store.keys()) {
          const r = yield* store.lookup(key, level)
          if (r._tag === "Hit") {
            const m = r.manifest
            rows.push({
              key,
              status: "ok",
              stage: m.stage,
              node: m.node,
              pipeline: m.pipeline,
              bytes: m.files.reduce((a, f) => a + f.size, 0),
              createdAt: m.timings.finishedAt,
              durationMs: m.timings.durationMs,
              ...(m.timings.peakRssBytes === undefined ? {} : { peakRssBytes: m.timings.peakRssBytes }),
              ...(m.adoptedFrom === undefined ? {} : { adoptedFrom: m.adoptedFrom.key }),
            })
          } else if (r._tag === "Corrupt") {
            rows.push({ key, status: "corrupt", reason: r.reason })
            if (sub === "verify" && values.repair === true) yield* store.quarantine(key, r.reason)
          }
        }
        const corrupt = rows.filter((r) => r.status === "corrupt")
        if (values.json === true) io.out(JSON.stringify({ store: store.root, entries: rows, corrupt: corrupt.length }))
        else {
          io.out(
            table([
              ["key", "status", "stage", "node", "pipeline", "size", "took", "peak RSS", "created"],
              ...rows.map((r) => [
                short(r.key),
                r.status,
                r.stage ?? "",
                r.node ?? "",
                r.pipeline ?? "",
                r.bytes === undefined ? "" : bytes(r.bytes),
                r.durationMs === undefined ? "" : `${(r.durationMs / 1000).toFixed(1)} s`,
                r.peakRssBytes === undefined ? "" : bytes(r.peakRssBytes),
                `${r.createdAt ?? r.reason ?? ""}${r.adoptedFrom === undefined ? "" : ` (adopted from ${short(r.adoptedFrom)})`}`,
              ]),
            ]),
          )
          io.err(`${rows.length} entries in ${store.root}${sub === "verify" ? `, ${corrupt.length} corrupt${corrupt.length > 0 && values.repair !== true ? " (run with --repair to quarantine them)" : ""}` : ""}`)
          for (const c of corrupt) io.err(`corrupt ${c.key}: ${c.reason}`)
        }
        return sub === "verify" && corrupt.length > 0 ? 1 : 0
      }
      if (sub === "gc") {
        const keepRuns = values["keep-runs"] === undefined ? 1 : Number(values["keep-runs"])
        if (!Number.isInteger(keepRuns) || keepRuns < 0) {
          return yield* new UsageError({ command: "cache gc", usage, problem: `--keep-runs ${values["keep-runs"]}: expected a whole number >= 0` })
        }
        const keepHours = values["keep-hours"] === undefined ? (remote === undefined ? 0 : 24) : Number(values["keep-hours"])
        if (!Number.isFinite(keepHours) || keepHours < 0) {
          return yield* new UsageError({ command: "cache gc", usage, problem: `--keep-hours ${values["keep-hours"]}: expected a number of hours >= 0` })
        }
        const report = yield* collectGarbage(store, { keepRuns, dryRun: values["dry-run"] === true, keepYoungerMs: keepHours * 3600_000 })
        if (values.json === true) io.out(JSON.stringify(report))
        else {
          io.out(
            `${values["dry-run"] === true ? "would remove" : "removed"} ${report.removedEntries.length} entries (kept ${report.keptEntries}), ${report.removedTemp} temp folders, ${report.removedCorrupt} quarantined entries, ${report.removedScratch} scratch folders: ${bytes(report.freedBytes)}`,
          )
        }
        return 0
      }
      return yield* new UsageError({ command: "cache", usage, problem: `unknown sub-command "${sub}": expected ls, verify, gc or adopt` })
    }),
}
