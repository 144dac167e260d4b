/**
 * Every stage in the pool (`SSL_KD_POOL=all`) on the native backend: the run
 * exits 0 after its last stage. Pool workers run the native kernels on one
 * thread each; OpenMP teams started inside worker threads made the process
 * die with SIGSEGV at exit (exit code 139) before that. Skipped where the
 * native addon is not built.
 */
import { spawn } from "node:child_process"
import { existsSync } from "node:fs"
import * as path from "node:path"
import { expect, it } from "vitest"
import { tempDir } from "./harness.ts"
import { BIN, collect, REPO } from "./project.ts"

const built = existsSync(path.join(REPO, "native", "build", "Release", "ssl_kd_native.node"))

it.skipIf(!built)("a smoke pipeline with every stage in native pool workers exits 0", async () => {
  const cache = await tempDir("pool-native")
  const env: NodeJS.ProcessEnv = { ...process.env, SSL_KD_POOL: "all", FORCE_COLOR: "0" }
  delete env.SSL_KD_NATIVE_THREADS
  delete env.SSL_KD_BACKEND
  const r = await collect(
    spawn(process.execPath, [BIN, "run", path.join(REPO, "pipelines", "teachers.ts"), "--preset", "smoke", "--backend", "native", "--workers", "2", "--cache-dir", cache], {
      cwd: REPO,
      stdio: ["ignore", "pipe", "pipe"],
      env,
    }),
  )
  expect(r.code, r.stderr.slice(-2000)).toBe(0)
  expect(r.stderr).toMatch(/worker \d+: tensor backend: native/)
  expect(r.stderr).toMatch(/^ok in /m)
}, 180_000)
