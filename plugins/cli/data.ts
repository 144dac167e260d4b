/**
 * `ssl-kd data`: look at datasets.
 *
 *   ssl-kd data inspect <dataset> [--split train|test] [--data-dir D] [--json]
 *   ssl-kd data list [--json]
 *
 * `inspect` reads the split and reports its size, count per class, image
 * shape, pixel mean/std and identity hash (sha256 of the files' content and
 * the reading parameters; a stage's cache key hashes the content of the
 * files it reads, so both change exactly when a file does). A missing
 * or bad file ends in the reader's typed error (file, byte offset).
 */
import { readFileSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Data, Effect } from "effect"
import { channelStats, countPerClass } from "../datasets/ImageSet.ts"
import { datasetIdentity } from "../datasets/identity.ts"
import { datasets } from "../datasets/builtins.ts"
import { dataRoot } from "../datasets/registry.ts"
import type { Split } from "../datasets/spec.ts"
import type { CliCommand, CliIO } from "../../runtime/cli/Command.ts"
import type { CommandHelp } from "../../runtime/cli/help.ts"

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

const usage = "ssl-kd data list [--data-dir DIR] [--json] | ssl-kd data inspect <dataset> [--split train|test] [--data-dir DIR] [--json]"
const KNOWN = ["--split", "--data-dir", "--json"]

export const help = {
  usage,
  summary: "Datasets: `list` says which are installed here, which are missing and how to install each; `inspect` reads one split and reports its size, count per class, image shape, pixel mean/std and identity hash.",
  args: { "list | inspect <dataset>": "What to do; inspect takes a dataset name from `ssl-kd data list`." },
  options: {
    split: { type: "string", value: "train|test", text: "With inspect: the split to read (default train).", example: "ssl-kd data inspect fashion-mnist --split test" },
    "data-dir": { type: "string", value: "DIR", text: "Look for datasets in DIR/<dataset>/ instead of /usr/share/datasets (same as SSL_KD_DATA_DIR=DIR).", example: "ssl-kd data list --data-dir ~/datasets" },
    json: { type: "boolean", text: "Print JSON on stdout.", example: "ssl-kd data list --json" },
  },
} as const satisfies CommandHelp

/** System packages that install each dataset (plugins/system-packages.json, the list `npm run setup` installs). */
export const datasetPackages = (): Readonly<Record<string, ReadonlyArray<string>>> => {
  try {
    const file = fileURLToPath(new URL("../system-packages.json", import.meta.url))
    const parsed = JSON.parse(readFileSync(file, "utf8")) as { datasets?: Record<string, ReadonlyArray<string>> }
    return parsed.datasets ?? {}
  } catch {
    return {}
  }
}

/** How to get a dataset on this machine: its package, or the folder to fill (no website: these machines reach none). */
export const installAdvice = (dataset: string, folder: string | undefined): string => {
  const pkgs = datasetPackages()[dataset]
  if (pkgs !== undefined && pkgs.length > 0) return `install it with \`npm run setup\` (as root: apt-get install ${pkgs.join(" ")})`
  const sub = folder === undefined ? dataset : path.basename(folder)
  return `no system package provides it here, so it cannot be installed on this machine; to use a copy you have, put its files in ${folder ?? `<dir>/${sub}/`} (or in <dir>/${sub}/ with --data-dir <dir>)`
}

/** A dataset whose files are not on this machine, with how to get them here. */
export class DatasetNotInstalled extends Data.TaggedError("DatasetNotInstalled")<{
  readonly dataset: string
  readonly path: string
  readonly advice: string
}> {
  override get message() {
    return `dataset ${this.dataset} is not installed: ${this.path} not found. To use it: ${this.advice}.`
  }
}

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
    const registry = datasets
    const opts = { split: args.split, ...(args.dataDir === undefined ? {} : { dataDir: path.resolve(io.cwd, args.dataDir) }) }
    const spec = yield* registry.resolve(args.dataset as string, opts).pipe(
      Effect.catchTag("DatasetMissingError", (e) =>
        Effect.fail(new DatasetNotInstalled({ dataset: e.dataset, path: e.path, advice: installAdvice(e.dataset, path.dirname(e.path)) })),
      ),
    )
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
    const registry = datasets
    const opts = args.dataDir === undefined ? {} : { dataDir: path.resolve(io.cwd, args.dataDir) }
    const rows = yield* Effect.forEach(registry.names(), (n) =>
      Effect.gen(function* () {
        const e = yield* registry.get(n)
        const resolved = yield* Effect.result(registry.resolve(n, { ...opts, split: "train" }))
        if (resolved._tag === "Success") {
          const generated = resolved.success.path === ""
          return { name: n, summary: e.summary, status: generated ? ("generated" as const) : ("installed" as const), path: resolved.success.path, install: null }
        }
        const f = resolved.failure as { _tag: string; path?: string; message: string }
        const where = f._tag === "DatasetMissingError" && f.path !== undefined ? path.dirname(f.path) : undefined
        return { name: n, summary: e.summary, status: "missing" as const, path: where ?? null, install: installAdvice(n, where) }
      }),
    )
    if (args.json) io.out(JSON.stringify({ dataRoot: dataRoot(opts), datasets: rows, readers: registry.readers.names() }, null, 2))
    else {
      const w = Math.max(...rows.map((r) => r.name.length))
      for (const r of rows) {
        io.out(`${r.name.padEnd(w)}  ${r.status.padEnd(9)}  ${r.summary}`)
        if (r.status === "installed") io.out(`${" ".repeat(w)}  ${"".padEnd(9)}  in ${r.path}`)
        if (r.install !== null) io.out(`${" ".repeat(w)}  ${"".padEnd(9)}  ${r.install}`)
      }
      const root = dataRoot(opts)
      io.out(`\ndata root: ${root.dataRoot} (from ${root.dataRootSource === "option" ? "--data-dir" : root.dataRootSource === "env" ? "SSL_KD_DATA_DIR" : "the default"}); \`ssl-kd data inspect NAME\` reads one.`)
    }
    return 0
  })

/** The `data` command. */
export const command: CliCommand = {
  name: "data",
  summary: "inspect datasets: size, count per class, image shape, identity hash",
  usage,
  help,
  run: (argv, io) =>
    parseDataArgs(argv).pipe(Effect.flatMap((args) => (args.action === "list" ? list(args, io) : inspect(args, io)))),
}
