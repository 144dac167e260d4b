// Entry of a decode worker thread: TypeScript runs through tsx here as in the
// main process, then worker.ts takes over (the same pattern as
// runtime/executor/pool/worker.mjs).
import { register } from "tsx/esm/api"

register()
await import("./worker.ts")
