// `npm run setup`: builds the optional native CPU kernels (oneDNN) when this
// machine can (a C++ compiler and libdnnl-dev), else says in one line that
// ssl-kd will use the wasm backend. Never fails: the native layer is optional.
// SSL_KD_NATIVE=off skips the build.
import { spawnSync } from "node:child_process"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
if (process.env.SSL_KD_NATIVE === "off") {
  console.log("ssl-kd setup: SSL_KD_NATIVE=off, native kernels not built; the wasm backend will be used")
  process.exit(0)
}
const started = Date.now()
const r = spawnSync("npm", ["run", "--silent", "build:native"], { cwd: root, encoding: "utf8", shell: process.platform === "win32" })
const seconds = ((Date.now() - started) / 1000).toFixed(0)
if (r.status === 0) {
  console.log(`ssl-kd setup: native CPU kernels built in ${seconds} s (native/build/Release/ssl_kd_native.node); the native backend will be used`)
} else {
  const output = `${r.stdout ?? ""}${r.stderr ?? ""}`
  const cause = /dnnl\.hpp|oneapi\/dnnl/.test(output) ? "oneDNN headers not found (Debian: apt-get install libdnnl-dev)"
    : /not found|ENOENT|make: |g\+\+/.test(output) && !/error:/.test(output) ? "no C++ toolchain (Debian: apt-get install g++ make)"
    : `the build failed (rerun \`npm run build:native\` to see why)`
  console.log(`ssl-kd setup: native CPU kernels not built: ${cause}; ssl-kd will use the wasm backend`)
}
