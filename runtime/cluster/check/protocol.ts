/** The messages between a runner and its stage-check thread (StageCheck.ts); structured-clone data only. */

/** Which stage a job names, on this machine. */
export interface CheckRequest {
  /** Absolute path of the stage's module in this runner's checkout. */
  readonly moduleFile: string
  readonly exportName: string
  readonly stageName: string
  /**
   * With the job's canonical config: also identify the files the stage reads
   * here (`stage.reads(config)`, content hashes as the planner takes them),
   * so the runner can refuse a job planned on other data.
   */
  readonly config?: unknown
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
      /** With a config in the request: the dataset identity of the stage's reads on this runner (null: it reads no files), and those paths. */
      readonly data?: { readonly identity: string | null; readonly reads: ReadonlyArray<string> }
    }
  /** The module does not load, the export is not the stage, or its code cannot be fingerprinted. */
  | { readonly type: "refused"; readonly id: number; readonly errorTag: string; readonly detail: string }
