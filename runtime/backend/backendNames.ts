/** The tensor backend names `--backend` and `SSL_KD_BACKEND` accept (no tfjs import: checked before any stage runs). */
export const backendNames = ["node-gpu", "node", "native", "wasm", "cpu"] as const
export type BackendName = (typeof backendNames)[number]
export const isBackendName = (s: string): s is BackendName => backendNames.some((n) => n === s)
