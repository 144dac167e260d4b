#!/usr/bin/env node
// Entry point of the `ssl-kd` command: TypeScript sources (and the user's
// pipeline files) run through tsx, so there is no build step.
import { register } from "tsx/esm/api"

// effect is plain JavaScript of ~250 modules: loaded before the TypeScript hooks are
// registered, each of its modules skips them (1.7 s -> 0.7 s of CPU at start-up here).
await import("effect")
register()
const { main } = await import("../runtime/cli/main.ts")
// Commands that need models, datasets or teachers come from plugins/ (the runtime imports none of it).
const { pluginCommands } = await import("../plugins/cli/index.ts")
const code = await main(process.argv.slice(2), {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  cwd: process.cwd(),
  isTTY: Boolean(process.stderr.isTTY),
}, pluginCommands)
process.exitCode = code
