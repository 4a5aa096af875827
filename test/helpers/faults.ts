// Shared pieces of the fault-injection suite (npm run test:faults): platform processes as real
// `baton` children that can be SIGKILLed, a fleet of simulated agents (the real Agent code with an
// in-process executor, for bursts of results), and readers of the final SQLite state.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Agent } from '../../src/agent/index.js';
import { AgentDirectory } from '../../src/kv/index.js';
import { connectNats } from '../../src/shared/connect.js';
import { silentLogger } from '../../src/shared/logger.js';
import { dumpTable, durableName, openReadOnlyDb, type ProjectionTable } from '../../src/projector/index.js';
import { simulatedExecutor } from '../bench/fleet.js';
import { BATON_MAIN } from './cli.js';
import { waitFor } from './wait.js';

export type BatonProcess = {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  output: () => string;
  /** SIGKILL, and wait for the exit. */
  kill(): Promise<void>;
  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number | null>;
};

/** Runs `baton <args>` as a long-lived child against the server at `url`. */
export function spawnBaton(
  name: string,
  url: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): BatonProcess {
  const child = spawn(process.execPath, [BATON_MAIN, ...args], {
    env: { ...process.env, BATON_NATS_URL: url, BATON_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
  return {
    name,
    child,
    exited,
    output: () => out,
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** A `baton projector` child on its own SQLite file and consumers. */
export function spawnProjector(url: string, db: string, instance: string): BatonProcess {
  return spawnBaton(`projector-${instance}`, url, [
    'projector',
    '--db',
    db,
    '--instance',
    instance,
    '--ack-wait',
    '5s',
  ]);
}

/** Waits until the projector `instance` has applied and acked everything in `streams`. */
export async function projectedAll(
  nc: NatsConnection,
  instance: string,
  what: string,
  timeoutMs = 60_000,
  streams = ['RESULTS', 'EVENTS', 'AUDIT', 'OBS_EVENTS'],
): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await waitFor(
    `projector ${instance} to apply ${what}`,
    async () => {
      const infos = await Promise.all(streams.map((st) => jsm.consumers.info(st, durableName(instance, st))));
      return infos.every((i) => i.num_pending === 0 && i.num_ack_pending === 0);
    },
    { timeoutMs, intervalMs: 100 },
  );
}

/** One value from the projection (a fresh read-only connection: the writer may be another process). */
export function sqlValue<T = number>(db: string, sql: string, ...params: unknown[]): T {
  const d = openReadOnlyDb(db);
  try {
    return Object.values(d.prepare(sql).get(...params) as Record<string, T>)[0]!;
  } finally {
    d.close();
  }
}

export function sqlRows<T = Record<string, unknown>>(db: string, sql: string, ...params: unknown[]): T[] {
  const d = openReadOnlyDb(db);
  try {
    return d.prepare(sql).all(...params) as T[];
  } finally {
    d.close();
  }
}

/** Like sqlValue, but undefined while the file or its tables do not exist yet. */
export function trySqlValue(db: string, sql: string): number | undefined {
  try {
    return sqlValue(db, sql);
  } catch {
    return undefined;
  }
}

export function dumpTables(db: string, tables: readonly ProjectionTable[]): Record<string, unknown[]> {
  const d = openReadOnlyDb(db);
  try {
    return Object.fromEntries(tables.map((t) => [t, dumpTable(d, t)]));
  } finally {
    d.close();
  }
}

/** The number of messages `stream` holds on subjects matching `filter`. */
export async function storedCount(nc: NatsConnection, stream: string, filter: string): Promise<number> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(stream, { subjects_filter: filter });
  return Object.values(info.state.subjects ?? {}).reduce((a, n) => a + n, 0);
}

export type SimFleet = {
  pcs: string[];
  /** The agents' data dirs are `<root>/<pc>`. */
  root: string;
  /** Errors the agents logged (a fault test prints them when it fails). */
  errors: string[];
  /** How many times each `<pc>/<request id>` was run (a request must run at most once). */
  executions: Map<string, number>;
  stop(): Promise<void>;
};

/**
 * `n` simulated agents: the real Agent (consumer, journal, outbox, publishing), each with its own
 * connection that reconnects like a real endpoint's, running scripts in-process (`durationMs`
 * each), so a test can produce bursts of real results without n × runs child processes.
 */
export async function startSimFleet(url: string, n: number, durationMs = 20): Promise<SimFleet> {
  const root = await mkdtemp(join(tmpdir(), 'baton-simfleet-'));
  const pcs = Array.from({ length: n }, (_, i) => `sim-${String(i).padStart(3, '0')}`);
  const conns: NatsConnection[] = [];
  const agents: Agent[] = [];
  const simulate = simulatedExecutor({ outputBytes: 64, durationMs });
  const executions = new Map<string, number>();
  const execute: typeof simulate = (spec) => {
    const key = `${spec.env['BATON_PC_ID']}/${spec.env['BATON_REQUEST_ID']}`;
    executions.set(key, (executions.get(key) ?? 0) + 1);
    return simulate(spec);
  };
  const errors: string[] = [];
  const logger = {
    ...silentLogger,
    error: (fields: Record<string, unknown>, msg: string) =>
      void errors.push(
        `${msg}: ${String((fields['err'] as Error | undefined)?.message ?? JSON.stringify(fields))}`,
      ),
  };
  for (const pcId of pcs) {
    const nc = await connectNats({ servers: url, name: `sim:${pcId}`, longRunning: true });
    conns.push(nc);
    const agent = new Agent({
      pcId, servers: url, nc, dataDir: join(root, pcId), logger, execute,
      builtinInventory: false, idlePullMs: 5_000, stopGraceMs: 2_000,
    }); // prettier-ignore
    agents.push(agent);
  }
  await Promise.all(agents.map((a) => a.start()));
  // Runs to `all` expect the pcs known in agents_state, written by each agent's first heartbeat.
  const directory = await AgentDirectory.open(conns[0]!);
  await waitFor('every simulated agent to be in agents_state', async () => {
    const known = new Set((await directory.list()).agents.map((a) => a.pcId));
    return pcs.every((pc) => known.has(pc));
  }, { timeoutMs: 30_000, intervalMs: 100 }); // prettier-ignore
  return {
    pcs,
    root,
    errors,
    executions,
    async stop() {
      await Promise.all(agents.map((a) => a.stop()));
      await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
    },
  };
}
