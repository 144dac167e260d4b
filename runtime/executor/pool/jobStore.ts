/** The store a pool job reads its inputs from: the job's store, reading through to its remote store when it has one. */
import { Effect } from "effect"
import { fileRemoteStore, readThrough } from "../../cache/remoteStore.ts"
import { makeFileStore, type StoreShape } from "../../cache/Store.ts"
import type { Job } from "./protocol.ts"

/** The job fields naming `store`'s remote (only a folder remote can be reopened in a worker). */
export const remoteFolderOf = (store: StoreShape): { remoteStoreFolder?: string } =>
  store.remote?.folder === undefined ? {} : { remoteStoreFolder: store.remote.folder.root }

export const jobStore = (job: Pick<Job, "storeRoot" | "remoteStoreFolder">) => {
  const local = makeFileStore(job.storeRoot)
  return job.remoteStoreFolder === undefined
    ? Effect.succeed(local)
    : fileRemoteStore(`file://${job.remoteStoreFolder}`, job.remoteStoreFolder).pipe(Effect.map((remote) => readThrough(local, remote)))
}
