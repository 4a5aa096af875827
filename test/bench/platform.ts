// Shared pieces of the benchmarks: a real nats-server with the topology, the projector as a real
// `baton projector` child process (as `baton up` runs it), a read-only look into its SQLite file,
// and process sampling (RSS, CPU) from /proc.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { DEFAULT_LIMITS, ensureTopology, scaleLimits } from '../../src/kv/index.js';
import { BATON_MAIN } from '../helpers/cli.js';
import { startTestServer, type TestServer } from '../helpers/nats-server.js';

export type BenchServer = { server: TestServer; nc: NatsConnection; dir: string };

/** A fresh server with the whole topology, byte limits scaled by `limitScale`. */
export async function startBenchServer(limitScale: number): Promise<BenchServer> {
  // The repository's server config, as `baton up` uses it (max_payload, consumer limits).
  const server = await startTestServer([
    '-c',
    fileURLToPath(new URL('../../../nats-server.conf', import.meta.url)),
  ]);
  const nc = await server.connect('bench');
  await ensureTopology(nc, { replicas: 1, limits: scaleLimits(DEFAULT_LIMITS, limitScale) });
  const dir = await mkdtemp(join(tmpdir(), 'baton-bench-'));
  return { server, nc, dir };
}

export type ProjectorProcess = {
  child: ChildProcess;
  dbPath: string;
  /** Result rows of an execution in the projection. */
  results(execId: string): number;
  /** Waits until `count` results of `execId` are in SQLite; returns when (performance.now()). */
  waitResults(execId: string, count: number, timeoutMs: number): Promise<number>;
  stop(): Promise<void>;
};

export async function startProjectorProcess(url: string, dir: string): Promise<ProjectorProcess> {
  const dbPath = join(dir, 'baton.db');
  const child = spawn(process.execPath, [BATON_MAIN, 'projector', '--db', dbPath, '--instance', 'bench'], {
    env: { ...process.env, BATON_NATS_URL: url },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let db: Database.Database | null = null;
  const open = () => {
    if (db) return db;
    try {
      db = new Database(dbPath, { readonly: true, fileMustExist: true });
      db.pragma('busy_timeout = 1000');
    } catch {
      db = null;
    }
    return db;
  };
  const results = (execId: string): number => {
    const d = open();
    if (!d) return 0;
    try {
      return (d.prepare('SELECT count(*) AS n FROM results WHERE exec_id = ?').get(execId) as { n: number })
        .n;
    } catch {
      return 0; // schema not created yet
    }
  };
  // Wait until the projector created its schema, so timings do not include its start.
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      open()?.prepare('SELECT 1 FROM results LIMIT 1').get();
      if (db) break;
    } catch {
      // schema not created yet
    }
    if (child.exitCode !== null) throw new Error(`projector exited: ${err}`);
    if (Date.now() > deadline) throw new Error(`projector did not create its schema within 20 s: ${err}`);
    await delay(50);
  }
  return {
    child,
    dbPath,
    results,
    async waitResults(execId, count, timeoutMs) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const n = results(execId);
        if (n >= count) return performance.now();
        if (Date.now() > end)
          throw new Error(`projector: ${n} of ${count} results of ${execId} after ${timeoutMs} ms`);
        await delay(10);
      }
    },
    async stop() {
      db?.close();
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Consumers on the server, all streams (KV buckets and object stores are streams too). */
export async function consumerCount(
  nc: NatsConnection,
): Promise<{ total: number; byStream: Record<string, number> }> {
  const jsm = await jetstreamManager(nc);
  const byStream: Record<string, number> = {};
  let total = 0;
  for await (const s of jsm.streams.list()) {
    byStream[s.config.name] = s.state.consumer_count;
    total += s.state.consumer_count;
  }
  return { total, byStream };
}

const CLK_TCK = 100;

/** CPU seconds (user+system) and RSS bytes of a process, from /proc (Linux). */
export function sampleProcess(pid: number): { cpuSec: number; rssBytes: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuSec = (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { cpuSec, rssBytes: rssKb * 1024 };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** Forces a full GC when possible (v8 flag set at runtime), to read a settled heap. */
export async function settleHeap(): Promise<void> {
  const v8 = await import('node:v8');
  const vm = await import('node:vm');
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as (() => void) | undefined;
  gc?.();
  await delay(100);
  gc?.();
}

export const MiB = 1024 * 1024;

/** The pid of the nats-server serving `dir` (its store is under it), from /proc. */
export function serverPid(dir: string): number | null {
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8');
      if (cmd.includes('nats-server') && cmd.includes(dir)) return Number(e);
    } catch {
      // gone
    }
  }
  return null;
}
