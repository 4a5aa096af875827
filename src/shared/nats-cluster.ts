// A JetStream cluster of nats-server processes on one machine (loopback): the config of each node
// and starting, killing and restarting them. Used by `baton up --cluster <n>` and by the test
// harness, so both run a cluster the same way. Each node is a plain `startNatsProcess` with
// cluster flags on top of the same config file: a server name, one cluster name, its own route
// port and routes to every node (a JetStream cluster needs configured routes on every node, the
// first one included, so route ports are known before any node starts).
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { startNatsProcess, type NatsProcess } from './nats-process.js';

/** Cluster sizes baton runs: an odd number, so a majority survives one (or two) lost nodes. */
export const CLUSTER_SIZES = [3, 5] as const;

export type ClusterNode = {
  /** Server name (`n1`, `n2`, ...), unique in the cluster; JetStream places replicas by it. */
  name: string;
  host: string;
  /** Client port; a restarted node listens on it again, so clients find it. */
  clientPort: number;
  /** Route port the other nodes connect to. */
  clusterPort: number;
  storeDir: string;
  runDir: string;
  logFile?: string;
};

export type NatsClusterOptions = {
  /** Path of the nats-server binary. */
  binary: string;
  /** Number of nodes; 3 or 5. */
  size: number;
  /** Node `nK` keeps its JetStream store in `<dataDir>/nK/store` and its ports file in `<dataDir>/nK/run`. */
  dataDir: string;
  /** A server config file passed with `-c`: one for all nodes, or one per node. Default none. */
  configFile?: string | ((node: ClusterNode) => string);
  /** Cluster name. Default `baton`. */
  clusterName?: string;
  /** Listen address of clients and routes. Default `127.0.0.1`. */
  host?: string;
  /** First client port; node K listens on `clientPort + K - 1`. Default `-1`: free ports picked at start. */
  clientPort?: number;
  /** First route port; node K on `clusterPort + K - 1`. Default: free ports picked at start. */
  clusterPort?: number;
  /** Node `nK` logs to `<logDir>/nats-nK.log` when set. Default: no log file. */
  logDir?: string;
  /** More flags for every node, appended last. Default none. */
  extraArgs?: string[];
  /** How long to wait for each node to listen. Default 15s. */
  readyTimeoutMs?: number;
};

export type NatsCluster = {
  readonly name: string;
  readonly nodes: readonly ClusterNode[];
  /** Client URLs of every node, in node order: give all of them to clients. */
  readonly urls: string[];
  /** The running process of node `i` (0-based), or null when it is down. */
  process(i: number): NatsProcess | null;
  /** Index of the node with this server name; throws for an unknown name. */
  indexOf(serverName: string): number;
  /** SIGKILLs node `i` (a crash: no graceful shutdown) and resolves when it is gone. */
  kill(i: number): Promise<void>;
  /** Starts node `i` again on its ports and store unless it is running (also after it died). */
  start(i: number): Promise<NatsProcess>;
  /** Stops every node (SIGTERM, then SIGKILL after `graceMs`). Idempotent. */
  stop(graceMs?: number): Promise<void>;
};

export class NatsClusterError extends Error {
  override name = 'NatsClusterError';
}

/** The flags that make one node part of the cluster (on top of `startNatsProcess`'s own). */
export function clusterNodeArgs(
  node: ClusterNode,
  all: readonly ClusterNode[],
  clusterName: string,
): string[] {
  const routes = all.map((n) => `nats://${n.host}:${n.clusterPort}`).join(',');
  return [
    '--server_name', node.name,
    '--cluster_name', clusterName,
    '--cluster', `nats://${node.host}:${node.clusterPort}`,
    // Every node lists every route, itself included (nats-server skips its own); a restarted node
    // finds the others through any of them.
    '--routes', routes,
  ]; // prettier-ignore
}

/** Distinct free loopback ports, held together while picking so they differ from each other. */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const srv = createServer();
      servers.push(srv);
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(0, host, () => resolve());
      });
    }
    return servers.map((s) => (s.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

function checkPort(flag: string, first: number, size: number): void {
  if (first !== -1 && (!Number.isInteger(first) || first < 1 || first + size - 1 > 65535)) {
    throw new NatsClusterError(`${flag}: ${first} leaves no room for ${size} ports (1..65535)`);
  }
}

/**
 * The nodes of a cluster: names, ports and folders. Pure, so the config is testable. One client
 * and one route port per node.
 */
export function planCluster(
  opts: Pick<NatsClusterOptions, 'size' | 'dataDir' | 'host' | 'logDir'> & {
    clientPorts: readonly number[];
    clusterPorts: readonly number[];
  },
): ClusterNode[] {
  if (!(CLUSTER_SIZES as readonly number[]).includes(opts.size)) {
    throw new NatsClusterError(
      `cluster size ${opts.size} is not allowed; use ${CLUSTER_SIZES.join(' or ')} (an odd number keeps a majority)`,
    );
  }
  if (opts.clientPorts.length !== opts.size || opts.clusterPorts.length !== opts.size) {
    throw new NatsClusterError(
      `${opts.clientPorts.length} client and ${opts.clusterPorts.length} route ports for ${opts.size} nodes`,
    );
  }
  return opts.clusterPorts.map((clusterPort, i) => {
    const name = `n${i + 1}`;
    return {
      name,
      host: opts.host ?? '127.0.0.1',
      clientPort: opts.clientPorts[i]!,
      clusterPort,
      storeDir: join(opts.dataDir, name, 'store'),
      runDir: join(opts.dataDir, name, 'run'),
      ...(opts.logDir ? { logFile: join(opts.logDir, `nats-${name}.log`) } : {}),
    };
  });
}

/** Attempts with freshly picked ports when a picked one was taken before its node bound it. */
const RANDOM_PORT_ATTEMPTS = 3;

/**
 * Starts every node and returns once each listens for clients. JetStream elects its meta leader
 * on its own shortly after; the first JetStream API call of a client waits for it (see
 * `waitForJetStream`).
 */
export async function startNatsCluster(opts: NatsClusterOptions): Promise<NatsCluster> {
  const clientPort = opts.clientPort ?? -1;
  const clusterPort = opts.clusterPort ?? -1;
  checkPort('client port', clientPort, opts.size);
  checkPort('cluster port', clusterPort, opts.size);
  const random = clientPort === -1 || clusterPort === -1;
  for (let attempt = 1; ; attempt++) {
    // Routes must be known before the first node starts, so random ports are picked here, all at
    // once: a node's own `-p -1` could otherwise land on a route port picked for another node.
    const picked = random ? await freePorts(2 * opts.size, opts.host) : [];
    const ports = (first: number, offset: number) =>
      Array.from({ length: opts.size }, (_, i) => (first === -1 ? picked[offset + i]! : first + i));
    const nodes = planCluster({
      ...opts,
      clientPorts: ports(clientPort, 0),
      clusterPorts: ports(clusterPort, opts.size),
    });
    try {
      return await launchCluster(opts, nodes);
    } catch (err) {
      const taken = /address already in use/.test((err as Error).message);
      if (!random || !taken || attempt >= RANDOM_PORT_ATTEMPTS) throw err;
    }
  }
}

async function launchCluster(opts: NatsClusterOptions, nodes: ClusterNode[]): Promise<NatsCluster> {
  const clusterName = opts.clusterName ?? 'baton';
  const procs: (NatsProcess | null)[] = nodes.map(() => null);
  const launch = async (i: number): Promise<NatsProcess> => {
    const node = nodes[i]!;
    const proc = await startNatsProcess({
      binary: opts.binary,
      storeDir: node.storeDir,
      runDir: node.runDir,
      host: node.host,
      port: node.clientPort,
      ...(opts.configFile
        ? { configFile: typeof opts.configFile === 'string' ? opts.configFile : opts.configFile(node) }
        : {}),
      ...(node.logFile ? { logFile: node.logFile } : {}),
      ...(opts.readyTimeoutMs ? { readyTimeoutMs: opts.readyTimeoutMs } : {}),
      extraArgs: [...clusterNodeArgs(node, nodes, clusterName), ...(opts.extraArgs ?? [])],
    });
    procs[i] = proc;
    return proc;
  };
  const node = (i: number) => {
    if (!nodes[i]) throw new NatsClusterError(`no node ${i} in a cluster of ${nodes.length}`);
    return i;
  };
  const running = () => procs.filter((p): p is NatsProcess => p !== null);
  // Concurrently: each node waits for routes to the others before JetStream is ready. All settle
  // before a failure is reported, so no node is left running behind it.
  const launched = await Promise.allSettled(nodes.map((_, i) => launch(i)));
  const failed = launched.find((r) => r.status === 'rejected');
  if (failed) {
    await Promise.all(running().map((p) => p.stop(2_000)));
    const err = failed.reason as Error;
    throw new NatsClusterError(`cannot start a ${opts.size}-node cluster: ${err.message}`, { cause: err });
  }
  return {
    name: clusterName,
    nodes,
    urls: nodes.map((n) => `nats://${n.host}:${n.clientPort}`),
    process: (i) => procs[node(i)] ?? null,
    indexOf(serverName) {
      const i = nodes.findIndex((n) => n.name === serverName);
      if (i < 0)
        throw new NatsClusterError(
          `no node named '${serverName}' (nodes: ${nodes.map((n) => n.name).join(', ')})`,
        );
      return i;
    },
    async kill(i) {
      const p = procs[node(i)];
      if (!p) return;
      procs[i] = null;
      p.child.kill('SIGKILL');
      await p.exited;
    },
    async start(i) {
      const p = procs[node(i)];
      return p && p.child.exitCode === null && p.child.signalCode === null ? p : launch(i);
    },
    async stop(graceMs = 10_000) {
      const alive = running();
      procs.fill(null);
      await Promise.all(alive.map((p) => p.stop(graceMs)));
    },
  };
}

/**
 * Resolves once JetStream answers API requests through `nc`: right after a cluster starts (or
 * loses its meta leader) requests fail until the nodes have elected one.
 */
export async function waitForJetStream(nc: NatsConnection, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const jsm = await jetstreamManager(nc, { timeout: 2_000 });
      await jsm.getAccountInfo();
      return;
    } catch (err) {
      if (Date.now() > deadline) {
        throw new NatsClusterError(
          `JetStream did not answer within ${timeoutMs} ms (no meta leader elected?): ${(err as Error).message}`,
          { cause: err },
        );
      }
      await delay(250);
    }
  }
}
