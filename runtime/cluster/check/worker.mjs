// Entry of a runner's stage-check thread: TypeScript runs through tsx here as
// in the main process (bin/ssl-kd.js), then checkMain.ts takes over.
import { register } from "tsx/esm/api"

// effect (~250 plain JavaScript modules) loads before the TypeScript hooks, skipping them (as bin/ssl-kd.js).
await import("effect")
register()
await import("./checkMain.ts")
