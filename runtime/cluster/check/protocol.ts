/** The messages between a runner and its stage-check thread (StageCheck.ts); structured-clone data only. */

/** Which stage a job names, on this machine. */
export interface CheckRequest {
  /** Absolute path of the stage's module in this runner's checkout. */
  readonly moduleFile: string
  readonly exportName: string
  readonly stageName: string
}

export type ToChecker = { readonly type: "warm" } | { readonly type: "check"; readonly id: number; readonly request: CheckRequest }

export type FromChecker =
  | { readonly type: "ready" }
  | {
      readonly type: "checked"
      readonly id: number
      /** The module's URL (what a pool worker imports). */
      readonly moduleUrl: string
      readonly fingerprint: string
      readonly fromMemo: boolean
      readonly millis: number
    }
  /** The module does not load, the export is not the stage, or its code cannot be fingerprinted. */
  | { readonly type: "refused"; readonly id: number; readonly errorTag: string; readonly detail: string }
