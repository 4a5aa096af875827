// `baton up --cluster <n>`: the embedded default as a JetStream cluster of n nats-server processes
// on loopback (one machine: for trying failover and for tests, not for surviving the machine).
// Nodes keep their data in <dataDir>/cluster/nK and log to <dataDir>/logs/nats-nK.log; a node that
// dies is started again on its ports and store, like the single server of `baton up`.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLUSTER_SIZES, startNatsCluster, type NatsCluster } from '../shared/nats-cluster.js';
import { CliError, EXIT } from './exit-codes.js';

/** First route port of `baton up --cluster` (node K uses 6222 + K - 1), NATS's usual one. */
export const DEFAULT_CLUSTER_PORT = 6222;

export type UpCluster = {
  cluster: NatsCluster;
  /** Resolves when stop() was called and every restart loop has ended. */
  stop(): Promise<void>;
};

/** Parses `--cluster`: undefined (no flag) means a single server. */
export function parseClusterSize(raw: string | undefined): number | null {
  if (raw === undefined) return null;
  const n = Number(raw);
  if (!(CLUSTER_SIZES as readonly number[]).includes(n)) {
    throw new CliError(
      `--cluster: '${raw}' is not allowed; use ${CLUSTER_SIZES.join(' or ')} (an odd number of nodes keeps a majority when one dies)`,
      EXIT.usage,
    );
  }
  return n;
}

/**
 * Writes one config per node: the stack's config (`baton up`'s secure config) with the node's own
 * JWT resolver folder, since each server keeps and updates its own copy of the account JWTs.
 */
async function nodeConfigs(
  configFile: string,
  dataDir: string,
  names: string[],
): Promise<Map<string, string>> {
  const text = await readFile(configFile, 'utf8');
  const shared = `dir: ${JSON.stringify(join(dataDir, 'nats-jwt'))}`;
  if (!text.includes(shared)) {
    throw new CliError(
      `${configFile}: no JWT resolver line '${shared}' to give each cluster node its own`,
      EXIT.failed,
    );
  }
  const out = new Map<string, string>();
  for (const name of names) {
    const dir = join(dataDir, 'cluster', name);
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'nats-server.conf');
    await writeFile(file, text.replace(shared, `dir: ${JSON.stringify(join(dir, 'nats-jwt'))}`), {
      mode: 0o600,
    });
    out.set(name, file);
  }
  return out;
}

/**
 * Starts the cluster: client ports `port`, `port + 1`, ... (all random with -1), route ports from
 * 6222 (random too when the client ports are). Keeps every node up until stop().
 */
export async function startUpCluster(
  binary: string,
  configFile: string,
  dataDir: string,
  size: number,
  port: number,
  say: (line: string) => void,
): Promise<UpCluster> {
  const configs = await nodeConfigs(
    configFile,
    dataDir,
    Array.from({ length: size }, (_, i) => `n${i + 1}`),
  );
  let cluster: NatsCluster;
  try {
    cluster = await startNatsCluster({
      binary,
      size,
      configFile: (node) => configs.get(node.name)!,
      dataDir: join(dataDir, 'cluster'),
      logDir: join(dataDir, 'logs'),
      clientPort: port,
      clusterPort: port === -1 ? -1 : DEFAULT_CLUSTER_PORT,
    });
  } catch (err) {
    const hint = /address already in use/.test((err as Error).message)
      ? `\na port is taken: client ports ${port}..${port + size - 1} and route ports ${DEFAULT_CLUSTER_PORT}..` +
        `${DEFAULT_CLUSTER_PORT + size - 1} must be free (or pass --nats-port random)`
      : '';
    throw new CliError(
      `cannot start the nats-server cluster: ${(err as Error).message}${hint}`,
      EXIT.unavailable,
      {
        cause: err,
      },
    );
  }
  let stopping = false;
  const keepUp = async (i: number) => {
    const name = cluster.nodes[i]!.name;
    while (!stopping) {
      const proc = cluster.process(i);
      if (!proc) return;
      const code = await proc.exited;
      if (stopping) return;
      say(`! nats-server ${name} exited (code ${code}); restarting`);
      try {
        await cluster.start(i);
      } catch (err) {
        say(`! nats-server ${name} did not restart: ${(err as Error).message.split('\n')[0]}`);
        return;
      }
    }
  };
  const watches = cluster.nodes.map((_, i) => keepUp(i));
  return {
    cluster,
    async stop() {
      stopping = true;
      await cluster.stop();
      await Promise.allSettled(watches);
    },
  };
}
