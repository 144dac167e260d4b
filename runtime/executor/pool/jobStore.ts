/** The store a pool job reads its inputs from: the job's store, reading through to its remote store when it has one. */
import { Effect } from "effect"
import { fileRemoteStore, storeAt } from "../../cache/remoteStore.ts"
import type { StoreShape } from "../../cache/Store.ts"
import type { Job } from "./protocol.ts"

/** The job fields naming `store`'s remote (only a folder remote can be reopened in a worker). */
export const remoteFolderOf = (store: StoreShape): { remoteStoreFolder?: string } =>
  store.remote?.folder === undefined ? {} : { remoteStoreFolder: store.remote.folder.root }

export const jobStore = (job: Pick<Job, "storeRoot" | "remoteStoreFolder">) =>
  job.remoteStoreFolder === undefined
    ? Effect.succeed(storeAt(job.storeRoot))
    : fileRemoteStore(`file://${job.remoteStoreFolder}`, job.remoteStoreFolder).pipe(Effect.map((remote) => storeAt(job.storeRoot, remote)))
