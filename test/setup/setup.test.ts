/**
 * `npm run setup` on a machine where nothing is installed yet, simulated with
 * stand-ins for `dpkg-query` (reports every package missing) and `apt-get`
 * (logs its arguments; fails for the dataset when asked) first on PATH. The
 * native step is skipped (SSL_KD_NATIVE=off): it is exercised by the real
 * `npm run setup` (README, .ci/run).
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { REPO } from "../runtime/project.ts"

const packages = JSON.parse(fs.readFileSync(path.join(REPO, "plugins", "system-packages.json"), "utf8")) as { datasets: Record<string, Array<string>>; native: Array<string>; cluster: Array<string> }

const fakeApt = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ssl-kd-fake-apt-"))
  fs.writeFileSync(path.join(dir, "dpkg-query"), '#!/bin/sh\necho -n "unknown ok not-installed"; exit 1\n', { mode: 0o755 })
  fs.writeFileSync(
    path.join(dir, "apt-get"),
    `#!/bin/sh\necho "$*" >> "${dir}/log"\ncase "$*" in *dataset-*) [ -n "$FAIL_DATASET" ] && exit 100;; *postgresql*) [ -n "$FAIL_CLUSTER" ] && exit 100;; esac\nexit 0\n`,
    { mode: 0o755 },
  )
  return dir
}

const setup = (args: ReadonlyArray<string>, env: Record<string, string>) =>
  spawnSync(process.execPath, [path.join(REPO, "setup", "setup.mjs"), ...args], {
    encoding: "utf8",
    env: { ...process.env, SSL_KD_NATIVE: "off", SSL_KD_BACKEND: "", ...env },
  })

describe.skipIf(process.getuid?.() !== 0 || !fs.existsSync("/etc/debian_version"))("npm run setup (as root on Debian, apt simulated)", () => {
  it("installs every package of plugins/system-packages.json: datasets first, then the native toolchain, then PostgreSQL (cluster)", () => {
    const dir = fakeApt()
    const r = setup([], { PATH: `${dir}:${process.env.PATH}` })
    expect(r.status).toBe(0)
    const log = fs.readFileSync(path.join(dir, "log"), "utf8").trim().split("\n")
    expect(log[0]).toBe("update -qq")
    expect(log[1]).toBe(`install -y -qq ${[...new Set(Object.values(packages.datasets).flat())].join(" ")}`)
    expect(log[2]).toBe(`install -y -qq ${packages.native.join(" ")}`)
    expect(packages.cluster).toContain("postgresql")
    expect(log[3]).toBe(`install -y -qq ${packages.cluster.join(" ")}`)
    expect(log).toHaveLength(4)
    expect(r.stdout).toContain(`system packages installed: ${[...new Set(Object.values(packages.datasets).flat()), ...packages.native, ...packages.cluster].join(" ")}\n`)
    expect(r.stdout).toContain("runs will use the wasm backend")
  })

  it("PostgreSQL (the cluster group) that cannot be installed is reported, not fatal; the other groups are still installed", () => {
    const dir = fakeApt()
    const r = setup([], { PATH: `${dir}:${process.env.PATH}`, FAIL_CLUSTER: "1" })
    expect(r.status).toBe(0)
    const log = fs.readFileSync(path.join(dir, "log"), "utf8").trim().split("\n")
    expect(log[2]).toBe(`install -y -qq ${packages.native.join(" ")}`)
    expect(r.stdout).toContain(`could not install ${packages.cluster.join(" ")} (optional, cluster: without it cluster mode has no database here and its tests are skipped)`)
    expect(r.stdout).toContain(`; not installed (optional): ${packages.cluster.join(" ")}`)
    expect(r.stdout).not.toMatch(/system packages installed: [^\n]*postgresql[^\n]*; not installed/)
  })

  it("fails clearly (exit 1, naming dataset and package) when the dataset cannot be installed", () => {
    const dir = fakeApt()
    const r = setup([], { PATH: `${dir}:${process.env.PATH}`, FAIL_DATASET: "1" })
    expect(r.status).toBe(1)
    const names = Object.keys(packages.datasets)
    const pkgs = [...new Set(Object.values(packages.datasets).flat())]
    expect(r.stderr).toContain(
      `FAILED: the dataset${names.length > 1 ? "s" : ""} ${names.join(", ")} (package${pkgs.length > 1 ? "s" : ""} ${pkgs.join(" ")})`,
    )
    expect(r.stderr).toContain("fashion-mnist")
    expect(r.stderr).toContain(`apt-get install -y ${pkgs.join(" ")}`)
  })

  it("--dry-run prints the apt commands without running them; --no-system skips the step", () => {
    const dir = fakeApt()
    const dry = setup(["--dry-run"], { PATH: `${dir}:${process.env.PATH}` })
    expect(dry.status).toBe(0)
    expect(dry.stdout).toContain("would run: apt-get install -y -qq dataset-fashion-mnist")
    expect(fs.existsSync(path.join(dir, "log"))).toBe(false)
    const skip = setup(["--no-system"], { PATH: `${dir}:${process.env.PATH}` })
    expect(skip.stdout).toContain("system packages skipped (--no-system)")
    expect(fs.existsSync(path.join(dir, "log"))).toBe(false)
  })

  it("an unknown option is refused (exit 2) naming the known ones", () => {
    const r = setup(["--bogus"], {})
    expect(r.status).toBe(2)
    expect(r.stderr).toContain("unknown option --bogus; known: --no-system, --dry-run")
  })
})
