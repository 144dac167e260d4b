// Entry of a pool worker thread: TypeScript runs through tsx here as in the
// main process (bin/ssl-kd.js), then the worker main takes over.
import { register } from "tsx/esm/api"

register()
await import("./workerMain.ts")
