/**
 * The sub-commands that need this project's plugins (models, checkpoints,
 * datasets, teachers). The entry point (`bin/ssl-kd.js`) hands them to
 * `runtime/cli/main.ts`, which dispatches them like its own: the runtime
 * itself never imports `plugins/`.
 */
import type { CommandEntry } from "../../runtime/cli/main.ts"

export const pluginCommands: ReadonlyArray<CommandEntry> = [
  { name: "data", summary: "list datasets (installed or not, how to install) and inspect one", load: () => import("./data.ts") },
  { name: "extract", summary: "run a ViT checkpoint on images; write logits, features, attention maps", load: () => import("./extract.ts") },
  { name: "teachers", summary: "list the registered SSL teachers: family, architecture, weight source", load: () => import("./teachers.ts") },
]
