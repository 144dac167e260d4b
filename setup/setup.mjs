// `npm run setup [-- --no-system] [-- --dry-run]`: everything a fresh machine
// needs after `npm ci`, in three steps, each printed as one line:
//
// 1. System packages, listed in ONE data file, plugins/system-packages.json:
//    `datasets` (dataset name -> Debian packages; required: a missing one that
//    cannot be installed fails setup), and two optional groups, each
//    installed by its own apt-get call, a failure reported, not fatal:
//    `native` (the C++ toolchain and oneDNN for the optional native kernels)
//    and `cluster` (PostgreSQL, for cluster mode and its tests, which skip
//    without it). As root on Debian/Ubuntu: `apt-get update` + `apt-get
//    install` of the missing ones. Otherwise: prints the one command to run.
//    `--no-system` skips this step; `--dry-run` prints the apt commands
//    instead of running them.
// 2. The native kernels (`npm run build:native`), unless SSL_KD_NATIVE=off;
//    skipped when the built addon is newer than every native source file.
// 3. A check of the native kernels against the wasm backend on one training
//    step of a small ViT (setup/checkNative.ts: same loss and gradient norm
//    within float32 tolerance). A failing check moves the addon aside
//    (ssl_kd_native.node.rejected), so runs use wasm instead of wrong kernels.
//
// Ends with the backend runs will use. Exit 0 unless a required dataset is
// missing and could not be installed (exit 1, saying how to install it).
import { spawnSync } from "node:child_process"
import { existsSync, readdirSync, readFileSync, renameSync, statSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const args = new Set(process.argv.slice(2))
const say = (line) => console.log(`ssl-kd setup: ${line}`)

if (args.has("--help") || args.has("-h")) {
  console.log(`usage: npm run setup [-- --no-system] [-- --dry-run]

Installs what ssl-kd needs on this machine, builds the optional native CPU
kernels and checks them against the wasm backend.

  --no-system   do not install system packages (e.g. npm run setup -- --no-system)
  --dry-run     print the apt-get commands instead of running them
                (e.g. npm run setup -- --dry-run)

System packages come from plugins/system-packages.json. SSL_KD_NATIVE=off
skips the native kernels (runs then use the wasm backend).`)
  process.exit(0)
}
for (const a of args) {
  if (!["--no-system", "--dry-run"].includes(a)) {
    console.error(`ssl-kd setup: unknown option ${a}; known: --no-system, --dry-run (npm run setup -- --help)`)
    process.exit(2)
  }
}

const run = (cmd, argv, opts = {}) => spawnSync(cmd, argv, { cwd: root, encoding: "utf8", ...opts })
const has = (cmd) => run("sh", ["-c", `command -v ${cmd}`]).status === 0

// ---- 1. system packages -------------------------------------------------
const packagesFile = join(root, "plugins", "system-packages.json")
const lists = JSON.parse(readFileSync(packagesFile, "utf8"))
const required = [...new Set(Object.values(lists.datasets ?? {}).flat())]
// Optional groups: what each is for, said when it cannot be installed.
const OPTIONAL = {
  native: "without them the native kernels are not built",
  cluster: "without it cluster mode has no database here and its tests are skipped",
}
for (const key of Object.keys(lists)) {
  if (key !== "datasets" && !(key in OPTIONAL)) {
    console.error(`ssl-kd setup: ${packagesFile}: unknown group "${key}"; known: datasets, ${Object.keys(OPTIONAL).join(", ")}`)
    process.exit(2)
  }
}
const groups = Object.keys(OPTIONAL).map((name) => ({ name, packages: [...new Set(lists[name] ?? [])].filter((p) => !required.includes(p)) }))
const optional = [...new Set(groups.flatMap((g) => g.packages))]
const installed = (pkg) => /install ok installed/.test(run("dpkg-query", ["-W", "-f=${Status}", pkg]).stdout ?? "")
const debian = existsSync("/etc/debian_version") && has("apt-get") && has("dpkg-query")
let requiredMissing = []
let systemLine
if (args.has("--no-system")) {
  systemLine = "system packages skipped (--no-system)"
} else if (!debian) {
  systemLine = `not a Debian/Ubuntu system: install the equivalents of ${[...required, ...optional].join(" ")} with your package manager`
} else {
  const missingRequired = required.filter((p) => !installed(p))
  const missingOptional = optional.filter((p) => !installed(p))
  const missing = [...missingRequired, ...missingOptional]
  if (missing.length === 0) {
    systemLine = `system packages already installed: ${[...required, ...optional].join(" ")}`
  } else if (process.getuid?.() !== 0 && !args.has("--dry-run")) {
    const sudo = has("sudo") ? "sudo " : ""
    say(`missing system packages: ${missing.join(" ")}. Not root, so not installing them; run:`)
    console.log(`  ${sudo}apt-get update && ${sudo}apt-get install -y ${missing.join(" ")}`)
    requiredMissing = missingRequired
    systemLine = `system packages missing: ${missing.join(" ")}`
  } else {
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" }
    const apt = (argv) => {
      if (args.has("--dry-run")) {
        say(`would run: apt-get ${argv.join(" ")}`)
        return true
      }
      say(`running: apt-get ${argv.join(" ")}`)
      const r = run("apt-get", argv, { env, stdio: ["ignore", "inherit", "inherit"] })
      return r.status === 0
    }
    if (!apt(["update", "-qq"])) say("apt-get update failed; trying to install from the package lists already here")
    if (missingRequired.length > 0 && !apt(["install", "-y", "-qq", ...missingRequired])) requiredMissing = missingRequired
    const optionalFailed = []
    for (const group of groups) {
      const missingHere = group.packages.filter((p) => missingOptional.includes(p) && !optionalFailed.includes(p))
      if (missingHere.length > 0 && !apt(["install", "-y", "-qq", ...missingHere])) {
        optionalFailed.push(...missingHere)
        say(`could not install ${missingHere.join(" ")} (optional, ${group.name}: ${OPTIONAL[group.name]})`)
      }
    }
    const done = missing.filter((p) => !requiredMissing.includes(p) && !optionalFailed.includes(p)).join(" ") || "none"
    systemLine = args.has("--dry-run")
      ? `dry run: would install system packages ${done}`
      : `system packages installed: ${done}${optionalFailed.length > 0 ? `; not installed (optional): ${optionalFailed.join(" ")}` : ""}`
  }
}
say(systemLine)

// ---- 2. native kernels --------------------------------------------------
const addon = join(root, "native", "build", "Release", "ssl_kd_native.node")
const newestSource = () => {
  const files = [join(root, "native", "binding.gyp"), ...readdirSync(join(root, "native", "src")).map((f) => join(root, "native", "src", f))]
  return Math.max(...files.map((f) => statSync(f).mtimeMs))
}
let nativeBuilt = false
let nativeLine
if (process.env.SSL_KD_NATIVE === "off") {
  nativeLine = "native kernels skipped (SSL_KD_NATIVE=off)"
} else if (args.has("--dry-run")) {
  nativeLine = "would build the native kernels (npm run build:native)"
} else if (existsSync(addon) && statSync(addon).mtimeMs > newestSource()) {
  nativeBuilt = true
  nativeLine = "native kernels already built and newer than their sources (native/build/Release/ssl_kd_native.node)"
} else {
  const started = Date.now()
  const r = run("npm", ["run", "--silent", "build:native"], { shell: process.platform === "win32" })
  const seconds = ((Date.now() - started) / 1000).toFixed(0)
  if (r.status === 0) {
    nativeBuilt = true
    nativeLine = `native kernels built in ${seconds} s (native/build/Release/ssl_kd_native.node)`
  } else {
    const output = `${r.stdout ?? ""}${r.stderr ?? ""}`
    const cause = /dnnl\.hpp|oneapi\/dnnl/.test(output) ? "oneDNN headers not found (apt-get install libdnnl-dev)"
      : /not found|ENOENT|make: |g\+\+/.test(output) && !/error:/.test(output) ? "no C++ toolchain (apt-get install g++ make)"
      : "the build failed (rerun `npm run build:native` to see why)"
    nativeLine = `native kernels not built: ${cause}`
  }
}
say(nativeLine)

// ---- 3. check native against wasm ----------------------------------------
let backend = "wasm"
if (nativeBuilt) {
  const r = run(process.execPath, ["--import", "tsx", join("setup", "checkNative.ts")], { env: { ...process.env, SSL_KD_NATIVE: "" } })
  const last = (r.stdout ?? "").trim().split("\n").pop() ?? ""
  let result
  try {
    result = JSON.parse(last)
  } catch {
    result = { ok: false, reason: `the check printed no result (exit ${r.status}): ${(r.stderr ?? "").trim().split("\n").slice(-3).join(" | ")}` }
  }
  if (result.ok) {
    backend = "native"
    say(`native kernels agree with wasm on one ViT training step: loss ${result.nativeLoss.toFixed(6)} vs ${result.wasmLoss.toFixed(6)} (relative difference ${result.lossRelDiff.toExponential(1)}, gradient norm ${result.gradNormRelDiff.toExponential(1)}; ${(result.millis / 1000).toFixed(1)} s)`)
  } else if (result.reason !== undefined) {
    say(`native kernels could not be checked (${result.reason}); moved aside to ${addon}.rejected`)
    renameSync(addon, `${addon}.rejected`)
  } else {
    say(`native kernels DISAGREE with wasm on one ViT training step: loss ${result.nativeLoss} vs ${result.wasmLoss} (relative difference ${result.lossRelDiff}, tolerance ${result.tolerance.loss}); moved aside to ${addon}.rejected so runs do not use them`)
    renameSync(addon, `${addon}.rejected`)
  }
}
if (process.env.SSL_KD_BACKEND) say(`SSL_KD_BACKEND=${process.env.SSL_KD_BACKEND} is set: runs use that backend`)
else say(`runs will use the ${backend} backend${backend === "wasm" ? " (single-threaded WebAssembly; slower, same results)" : " (oneDNN CPU kernels)"}`)

if (requiredMissing.length > 0) {
  const datasets = Object.entries(lists.datasets ?? {}).filter(([, pkgs]) => pkgs.some((p) => requiredMissing.includes(p))).map(([d]) => d)
  console.error(`ssl-kd setup: FAILED: the dataset${datasets.length > 1 ? "s" : ""} ${datasets.join(", ")} (package${requiredMissing.length > 1 ? "s" : ""} ${requiredMissing.join(" ")}) ${datasets.length > 1 ? "are" : "is"} not installed. As root: apt-get update && apt-get install -y ${requiredMissing.join(" ")}`)
  process.exit(1)
}
