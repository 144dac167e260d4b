/**
 * The cluster's layers: PostgreSQL (`@effect/sql-pg`) for message, runner
 * and queue storage, runners talking over TCP (`@effect/platform-node-shared`
 * NodeClusterSocket, node:net only), the cluster workflow engine, and the
 * durable queues' SQL store. A runner hosts shards (the workflow entities);
 * a CLI joins client-only: it starts and awaits workflows, hosts nothing.
 */
import * as NodeClusterSocket from "@effect/platform-node-shared/NodeClusterSocket"
import { PgClient } from "@effect/sql-pg"
import { Duration, Layer, Option, Redacted } from "effect"
import { ClusterWorkflowEngine, RunnerAddress, RunnerHealth, Runners, ShardingConfig, SocketRunner, SqlMessageStorage, SqlRunnerStorage } from "effect/cluster"
import { Digest } from "effect/crypto"
import { PersistedQueue } from "effect/persistence"
import { RpcSerialization } from "effect/rpc"

export interface ClusterLayerOptions {
  readonly url: string
  /** Host this participant as a runner at this address (others connect to it); absent: client only. */
  readonly runner?: { readonly host: string; readonly port: number }
  /** How long a taken job stays leased to a runner that stopped refreshing it (a killed runner's job moves after this). */
  readonly leaseMs?: number
}

const shardingConfig = (options: ClusterLayerOptions) =>
  ShardingConfig.layer({
    runnerAddress: options.runner === undefined ? Option.none() : Option.some(RunnerAddress.RunnerAddress.make(options.runner)),
    shardsPerGroup: 64,
    refreshAssignmentsInterval: Duration.seconds(1),
    runnerHealthCheckInterval: Duration.seconds(5),
    entityMessagePollInterval: Duration.seconds(2),
    shardLockRefreshInterval: Duration.seconds(5),
    shardLockExpiration: Duration.seconds(20),
  })

/** Sharding, runners, message storage and the workflow engine, over PostgreSQL at `url`. */
export const engineLayer = (options: ClusterLayerOptions) => {
  const sql = PgClient.layer({ url: Redacted.make(options.url) })
  const storage = Layer.mergeAll(SqlMessageStorage.layer, Layer.orDie(SqlRunnerStorage.layer)).pipe(
    Layer.provide(Digest.layerWebCrypto),
    Layer.provideMerge(shardingConfig(options)),
    Layer.provideMerge(sql),
  )
  const protocol = NodeClusterSocket.layerClientProtocol
  const sharding = (
    options.runner === undefined
      ? Layer.provide(SocketRunner.layerClientOnly, protocol)
      : Layer.provide(SocketRunner.layer, [NodeClusterSocket.layerSocketServer, protocol]).pipe(
          Layer.provide(RunnerHealth.layerPing.pipe(Layer.provide(Runners.layerRpc), Layer.provide(protocol))),
        )
  ).pipe(Layer.provide(RpcSerialization.layerSchemaBinary()))
  return ClusterWorkflowEngine.layer.pipe(Layer.provideMerge(sharding), Layer.provideMerge(storage))
}

/** The durable queues' store (table `effect_queue`), leases refreshed at a quarter of their length. */
export const queueLayer = (leaseMs: number) =>
  PersistedQueue.layer.pipe(
    Layer.provide(
      PersistedQueue.layerStoreSql({
        pollInterval: Duration.millis(250),
        lockRefreshInterval: Duration.millis(Math.max(250, Math.floor(leaseMs / 4))),
        lockExpiration: Duration.millis(leaseMs),
      }),
    ),
  )
