/**
 * `ssl-kd data`: look at datasets.
 *
 *   ssl-kd data inspect <dataset> [--split train|test] [--data-dir D] [--json]
 *   ssl-kd data list [--json]
 *
 * `inspect` reads the split and reports its size, count per class, image
 * shape, pixel mean/std and identity hash (the one cache keys use). A missing
 * or bad file ends in the reader's typed error (file, byte offset).
 */
import * as path from "node:path"
import { Data, Effect } from "effect"
import { channelStats, countPerClass } from "../../../plugins/datasets/ImageSet.ts"
import { datasetIdentity } from "../../../plugins/datasets/identity.ts"
import { makeDefaultRegistry } from "../../../plugins/datasets/builtins.ts"
import { dataRoot } from "../../../plugins/datasets/registry.ts"
import type { Split } from "../../../plugins/datasets/spec.ts"
import type { CliCommand, CliIO } from "../Command.ts"

/** A flag the command does not know. */
export class UnknownFlagError extends Data.TaggedError("UnknownFlagError")<{
  readonly flag: string
  readonly known: ReadonlyArray<string>
}> {
  override get message() {
    return `unknown flag ${this.flag} for "ssl-kd data"; known flags: ${this.known.join(", ")}`
  }
}

/** Arguments that do not form a valid invocation. */
export class DataUsageError extends Data.TaggedError("DataUsageError")<{
  readonly problem: string
}> {
  override get message() {
    return `${this.problem}\nusage: ${usage}`
  }
}

const usage = "ssl-kd data inspect <dataset> [--split train|test] [--data-dir D] [--json] | ssl-kd data list [--json]"
const KNOWN = ["--split", "--data-dir", "--json"]

interface Args {
  readonly action: string
  readonly dataset: string | undefined
  readonly split: Split
  readonly dataDir: string | undefined
  readonly json: boolean
}

/** Parses argv by hand: `--flag value` or `--flag=value`. */
export const parseDataArgs = (argv: ReadonlyArray<string>): Effect.Effect<Args, UnknownFlagError | DataUsageError> =>
  Effect.gen(function* () {
    const positional: Array<string> = []
    let split: string = "train"
    let dataDir: string | undefined
    let json = false
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i] as string
      if (!a.startsWith("--")) {
        positional.push(a)
        continue
      }
      const eq = a.indexOf("=")
      const flag = eq >= 0 ? a.slice(0, eq) : a
      if (!KNOWN.includes(flag)) return yield* new UnknownFlagError({ flag, known: KNOWN })
      if (flag === "--json") {
        if (eq >= 0) return yield* new DataUsageError({ problem: "--json takes no value" })
        json = true
        continue
      }
      const value = eq >= 0 ? a.slice(eq + 1) : argv[++i]
      if (value === undefined || value === "") return yield* new DataUsageError({ problem: `${flag} needs a value` })
      if (flag === "--split") split = value
      else dataDir = value
    }
    if (split !== "train" && split !== "test") return yield* new DataUsageError({ problem: `--split is "${split}", expected train or test` })
    const [action, dataset, ...rest] = positional
    if (action !== "inspect" && action !== "list") return yield* new DataUsageError({ problem: `unknown action "${action ?? ""}", expected inspect or list` })
    if (action === "inspect" && dataset === undefined) return yield* new DataUsageError({ problem: "inspect needs a dataset name" })
    if (rest.length > 0 || (action === "list" && dataset !== undefined))
      return yield* new DataUsageError({ problem: `unexpected argument "${rest[0] ?? dataset}"` })
    return { action, dataset, split, dataDir, json }
  })

const inspect = (args: Args, io: CliIO) =>
  Effect.gen(function* () {
    const registry = makeDefaultRegistry()
    const opts = { split: args.split, ...(args.dataDir === undefined ? {} : { dataDir: path.resolve(io.cwd, args.dataDir) }) }
    const spec = yield* registry.resolve(args.dataset as string, opts)
    const files = yield* registry.files(spec)
    const started = performance.now()
    const set = yield* registry.load(spec)
    const loadSeconds = (performance.now() - started) / 1000
    const identity = yield* datasetIdentity(registry, spec)
    const counts = countPerClass(set)
    const stats = channelStats(set)
    const report = {
      dataset: spec.name,
      split: spec.split,
      reader: spec.reader,
      path: spec.path,
      dataRoot: dataRoot(opts),
      files,
      count: set.count,
      imageShape: [set.channels, set.height, set.width],
      classes: set.classes.map((name, i) => ({ index: i, name, count: counts[i] ?? 0 })),
      pixelMean: stats.mean,
      pixelStd: stats.std,
      identity,
      loadSeconds,
    }
    if (args.json) io.out(JSON.stringify(report, null, 2))
    else {
      io.out(`${report.dataset} (${report.split}) via ${report.reader} reader`)
      io.out(`  path      ${report.path || "(generated)"}  [data root from ${report.dataRoot.dataRootSource}]`)
      for (const f of files) io.out(`  file      ${f}`)
      io.out(`  images    ${report.count} of ${report.imageShape.join("x")} (CxHxW)`)
      io.out(`  mean/std  ${stats.mean.map((m) => m.toFixed(4)).join(",")} / ${stats.std.map((s) => s.toFixed(4)).join(",")}`)
      io.out(`  identity  ${identity}`)
      io.out("  classes")
      for (const c of report.classes) io.out(`    ${String(c.index).padStart(3)} ${c.name.padEnd(16)} ${c.count}`)
    }
    return 0
  })

const list = (args: Args, io: CliIO) =>
  Effect.gen(function* () {
    const registry = makeDefaultRegistry()
    const rows = yield* Effect.forEach(registry.names(), (n) => registry.entry(n).pipe(Effect.map((e) => ({ name: n, summary: e.summary }))))
    if (args.json) io.out(JSON.stringify({ datasets: rows, readers: registry.readerNames() }, null, 2))
    else for (const r of rows) io.out(`${r.name.padEnd(20)} ${r.summary}`)
    return 0
  })

/** The `data` command. */
export const command: CliCommand = {
  name: "data",
  summary: "inspect datasets: size, count per class, image shape, identity hash",
  usage,
  run: (argv, io) =>
    parseDataArgs(argv).pipe(Effect.flatMap((args) => (args.action === "list" ? list(args, io) : inspect(args, io)))),
}
