// Entry of a runner's stage-check thread: TypeScript runs through tsx here as
// in the main process (bin/ssl-kd.js), then checkMain.ts takes over.
import { register } from "tsx/esm/api"

register()
await import("./checkMain.ts")
