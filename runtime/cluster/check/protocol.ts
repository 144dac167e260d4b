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
  /**
   * With the config: the user plugin files the job preloads (file URLs, this
   * runner's): imported here, then the plugins the config names are
   * fingerprinted at their registration sites, as the planner does.
   */
  readonly preload?: ReadonlyArray<string>
}

/** A user plugin a config names, with the code fingerprint at its registration site. */
export interface PluginCode {
  readonly what: string
  readonly name: string
  readonly code: string
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
      /** With preload in the request: the user plugins the config names here, sorted by kind and name. */
      readonly plugins?: ReadonlyArray<PluginCode>
    }
  /** The module does not load, the export is not the stage, or its code cannot be fingerprinted. */
  | { readonly type: "refused"; readonly id: number; readonly errorTag: string; readonly detail: string }
