/**
 * The official checkpoint layouts, mapped to a flat state dict under timm's
 * names (the names `timmCheckpointFilter` and ssl-kd's ViT use):
 *
 * - a plain state dict (`dino_vitbase16_pretrain.pth`: the DINO teacher
 *   backbone, no head): taken as it is;
 * - DINO training checkpoints (`*_full_checkpoint.pth`: `teacher`,
 *   `student`, `optimizer`, `epoch`, `args`, `dino_loss`): the `teacher`
 *   (DINO evaluates the teacher) or, on request, the `student`; `module.`
 *   and `backbone.` prefixes stripped, the projection head (`head.*`,
 *   DINOHead) dropped with a note;
 * - MAE (`mae_pretrain_vit_base.pth`: `model`, maybe `optimizer`, `epoch`,
 *   `args`): `model`; the decoder (`decoder_*`, `mask_token`) is dropped by
 *   `timmCheckpointFilter`, which notes it.
 *
 * Anything else is a {@link PthLayoutError} naming the top-level keys.
 */
import { Effect } from "effect"
import type { FloatTensor } from "../timmFilter.ts"
import { PthLayoutError } from "./errors.ts"
import type { PthContents } from "./file.ts"
import type { PickledDict, PickleValue } from "./unpickle.ts"

/** Which layout a file had. */
export type PthLayout = "state-dict" | "dino-teacher" | "dino-student" | "mae" | "state_dict-key"

/** A flat state dict read from a `.pth` file. */
export interface PthState {
  readonly state: ReadonlyMap<string, FloatTensor>
  readonly layout: PthLayout
  readonly notes: ReadonlyArray<string>
}

const asDict = (v: PickleValue | undefined): PickledDict | undefined =>
  typeof v === "object" && v !== null && !(v instanceof Uint8Array) && v.kind === "dict" ? v : undefined

const isTensorDict = (d: PickledDict): boolean =>
  d.entries.size > 0 && [...d.entries].every(([k, v]) => typeof k === "string" && typeof v === "object" && v !== null && !(v instanceof Uint8Array) && v.kind === "tensor")

export interface PthStateOptions {
  /** For DINO training checkpoints: which network (default `teacher`). */
  readonly dinoNetwork?: "teacher" | "student"
}

/** The checkpoint's weights as a flat timm-named state dict (see the module comment). */
export const pthStateDict = (contents: PthContents, options: PthStateOptions = {}): Effect.Effect<PthState, PthLayoutError> =>
  Effect.gen(function* () {
    const root = asDict(contents.root)
    const keys = root === undefined ? [] : [...root.entries.keys()].map(String)
    const layoutError = (found: string) =>
      new PthLayoutError({
        file: contents.file,
        found,
        expected: "a state dict of tensors, a DINO checkpoint (teacher / student state dicts) or an MAE checkpoint (model state dict)",
      })
    if (root === undefined) return yield* layoutError("the top level is not a dict")
    const pick = (): { readonly dict: PickledDict | undefined; readonly layout: PthLayout; readonly from: string } => {
      if (isTensorDict(root)) return { dict: root, layout: "state-dict", from: "" }
      if (root.entries.has("teacher") || root.entries.has("student")) {
        const network = options.dinoNetwork ?? "teacher"
        return { dict: asDict(root.entries.get(network)), layout: network === "teacher" ? "dino-teacher" : "dino-student", from: network }
      }
      if (root.entries.has("model")) return { dict: asDict(root.entries.get("model")), layout: "mae", from: "model" }
      if (root.entries.has("state_dict")) return { dict: asDict(root.entries.get("state_dict")), layout: "state_dict-key", from: "state_dict" }
      return { dict: undefined, layout: "state-dict", from: "" }
    }
    const { dict, layout, from } = pick()
    if (dict === undefined || !isTensorDict(dict))
      return yield* layoutError(from === "" ? `top-level keys [${keys.slice(0, 12).join(", ")}] are not all tensors` : `"${from}" is not a dict of tensors`)
    const notes: Array<string> = []
    if (from !== "") {
      const ignored = keys.filter((k) => k !== from)
      notes.push(`read "${from}"${ignored.length > 0 ? ` (ignored: ${ignored.join(", ")})` : ""}`)
    }
    const state = new Map<string, FloatTensor>()
    let heads = 0
    for (const [k, v] of dict.entries) {
      let key = String(k)
      if (layout === "dino-teacher" || layout === "dino-student") {
        if (key.startsWith("module.")) key = key.slice("module.".length)
        if (key.startsWith("backbone.")) key = key.slice("backbone.".length)
        else if (key.startsWith("head.")) {
          heads++
          continue
        }
      }
      state.set(key, contents.toFloat(v as Extract<PickleValue, { kind: "tensor" }>))
    }
    if (heads > 0) notes.push(`dropped the DINO projection head (${heads} tensors, head.*)`)
    return { state, layout, notes }
  })
