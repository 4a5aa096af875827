// A real 3-node JetStream cluster for tests: loopback, random client and route ports, a temp
// folder removed on stop, the topology bootstrapped with R3 (TEST_TOPOLOGY's small limits).
// Nodes can be SIGKILLed and started again on the same ports and store.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { ensureTopology, type TopologyOptions } from '../../src/kv/index.js';
import { connectNats } from '../../src/shared/connect.js';
import { startNatsCluster, waitForJetStream, type NatsCluster } from '../../src/shared/nats-cluster.js';
import { natsBinary, TEST_TOPOLOGY } from './nats-server.js';
import { waitFor } from './wait.js';

/** The test topology with every resource replicated on 3 nodes. */
export const CLUSTER_TOPOLOGY: TopologyOptions = { ...TEST_TOPOLOGY, replicas: 3 };

export type TestCluster = {
  readonly cluster: NatsCluster;
  /** Every node's client URL; clients given all of them reconnect to a surviving node. */
  readonly urls: string[];
  readonly dir: string;
  /** A connection to all nodes, closed by stop(). */
  connect(name?: string): Promise<NatsConnection>;
  /** The server name of a stream's current leader (`n1`...), once it has one. */
  leaderOf(stream: string, nc: NatsConnection): Promise<string>;
  stop(): Promise<void>;
};

export async function startTestCluster(topology: TopologyOptions = CLUSTER_TOPOLOGY): Promise<TestCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'baton-cluster-'));
  const cluster = await startNatsCluster({ binary: await natsBinary(), size: 3, dataDir: dir }).catch(
    async (err: unknown) => {
      await rm(dir, { recursive: true, force: true }); // nothing runs there: startNatsCluster stopped what it started
      throw err;
    },
  );
  const conns: NatsConnection[] = [];
  const connect = async (name = 'baton-test') => {
    const nc = await connectNats({ servers: cluster.urls, name, longRunning: true });
    conns.push(nc);
    return nc;
  };
  const setup = await connect('setup');
  await waitForJetStream(setup);
  await ensureTopology(setup, topology);
  return {
    cluster,
    urls: cluster.urls,
    dir,
    connect,
    async leaderOf(stream, nc) {
      const jsm = await jetstreamManager(nc);
      return waitFor(
        `a leader of stream ${stream}`,
        async () => (await jsm.streams.info(stream)).cluster?.leader,
        {
          timeoutMs: 30_000,
          intervalMs: 100,
        },
      );
    },
    async stop() {
      await Promise.all(conns.map((nc) => nc.close().catch(() => undefined)));
      await cluster.stop(5_000);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
