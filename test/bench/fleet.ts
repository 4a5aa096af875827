// The fleet simulator and the fan-out benchmark. N simulated agents run the REAL Agent code
// (durable consumer, journal, outbox, result publishing, heartbeats, overflow to the object store)
// in this process; only script execution is replaced by an in-process executor that "prints" a
// configurable number of bytes after a configurable delay, through the real OutputCapture.
// Fan-out: one run to all N agents, timed from `startExecution` until every result is a row in
// SQLite (the projector runs as a real child process). Raw ceiling, same run, same server:
// publish N result-sized messages to a stream, consume them with acks, insert N rows into SQLite
// in batches of 500, pipelined.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Agent, CatalogCache, type ExecuteOutcome, type ExecuteSpec } from '../../src/agent/index.js';
import { OutputCapture } from '../../src/agent/output-capture.js';
import { connectNats } from '../../src/shared/connect.js';
import { silentLogger } from '../../src/shared/logger.js';
import { Kvm } from '@nats-io/kv';
import { BUCKETS, JobStore, startExecution } from '../../src/kv/index.js';
import { putJob } from '../helpers/jobs.js';
import {
  MiB,
  consumerCount,
  sampleProcess,
  serverPid,
  settleHeap,
  startBenchServer,
  startProjectorProcess,
} from './platform.js';
import type { FleetProcReply, FleetProcStart } from './fleet-proc.js';
import { absoluteFigure, timeFigure, rateFigure, type BenchReport, type Figure } from './report.js';

export type SimOptions = {
  /** Bytes of stdout each simulated run produces. */
  outputBytes: number;
  /** How long each simulated run takes. */
  durationMs: number;
};

/** The in-process executor: no child process, everything after it is the real agent. */
export function simulatedExecutor(sim: SimOptions): (spec: ExecuteSpec) => Promise<ExecuteOutcome> {
  const line = Buffer.from('Filesystem 1K-blocks Used Available Use% Mounted on /dev/sda1 /\n');
  return async (spec) => {
    const startedAt = new Date();
    if (sim.outputBytes > 256 * 1024) await mkdir(spec.workDir, { recursive: true });
    const stdout = new OutputCapture(spec.maxOutputBytes, join(spec.workDir, 'stdout.spill'));
    const stderr = new OutputCapture(spec.maxOutputBytes, join(spec.workDir, 'stderr.spill'));
    if (sim.durationMs > 0) await delay(sim.durationMs);
    for (let left = sim.outputBytes; left > 0; left -= line.length) {
      stdout.write(left >= line.length ? line : line.subarray(0, left));
    }
    const finishedAt = new Date();
    return {
      status: 'ok',
      exitCode: 0,
      stdout: stdout.finish(),
      stderr: stderr.finish(),
      startedAt,
      finishedAt,
      durationMs: finishedAt.getTime() - startedAt.getTime(),
    };
  };
}

export type FleetOptions = {
  n: number;
  /** Number of the first agent (`sim-<first>` ... `sim-<first + n - 1>`). Default 0. */
  first?: number;
  sim: SimOptions;
  /** Agents per shared NATS connection; 1 = each agent its own connection (as a real endpoint). */
  agentsPerConnection: number;
  /** Agents started at the same time. */
  startConcurrency: number;
  /**
   * Where the agents' data dirs go. Default the bench's temp dir (the real disk: every journal and
   * outbox write is fsync'd, and N endpoints' disks become one). `/dev/shm/...` shows the cost.
   */
  agentRoot?: string;
};

export type Fleet = {
  /** The processes the agents run in, other than this one (`--agent-procs`); empty otherwise. */
  pids: number[];
  startMs: number;
  heapPerAgentBytes: number;
  rssPerAgentBytes: number;
  stop(): Promise<void>;
};

/** `opts.n` simulated agents in this process, on the server at `url`, data under `dir`/agents. */
export async function startFleet(url: string, dir: string, opts: FleetOptions): Promise<Fleet> {
  await settleHeap();
  const before = process.memoryUsage();
  const conns: NatsConnection[] = [];
  const catalogs: CatalogCache[] = [];
  const execute = simulatedExecutor(opts.sim);
  const agents: Agent[] = [];
  const t0 = performance.now();
  let progressAt = Date.now();
  const first = opts.first ?? 0;
  for (let i = 0; i < opts.n; i += opts.startConcurrency) {
    const batch: Agent[] = [];
    for (let j = i; j < Math.min(opts.n, i + opts.startConcurrency); j++) {
      const pcId = `sim-${String(first + j).padStart(5, '0')}`;
      let nc: NatsConnection | undefined;
      let catalog: CatalogCache | undefined;
      if (opts.agentsPerConnection > 1) {
        // Agents on one connection share it and the cache of the skip checks' values on it.
        const k = Math.floor(j / opts.agentsPerConnection);
        conns[k] ??= await connectNats({
          servers: url,
          name: `bench-fleet-${k}`,
          longRunning: true,
          asyncTraces: false, // as a real agent's connection
        });
        nc = conns[k];
        catalogs[k] ??= await CatalogCache.open(nc, silentLogger);
        catalog = catalogs[k];
      }
      batch.push(
        new Agent({
          pcId,
          servers: url,
          dataDir: join(opts.agentRoot ?? join(dir, 'agents'), pcId),
          logger: silentLogger,
          stopGraceMs: 1_000,
          execute,
          builtinInventory: false, // 10,000 snapshots at start would skew the benchmarks
          ...(nc ? { nc } : {}),
          ...(catalog ? { catalog } : {}),
        }),
      );
    }
    await Promise.all(batch.map((a) => a.start()));
    agents.push(...batch);
    if (Date.now() - progressAt > 5_000) {
      progressAt = Date.now();
      process.stderr.write(
        `  ${agents.length}/${opts.n} agents started (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`,
      );
    }
  }
  const startMs = performance.now() - t0;
  await settleHeap();
  const after = process.memoryUsage();
  return {
    pids: [],
    startMs,
    heapPerAgentBytes: (after.heapUsed - before.heapUsed) / opts.n,
    rssPerAgentBytes: (after.rss - before.rss) / opts.n,
    async stop() {
      for (let i = 0; i < agents.length; i += 500)
        await Promise.all(agents.slice(i, i + 500).map((a) => a.stop()));
      await Promise.all(catalogs.map((c) => c.stop()));
      await Promise.all(conns.map((c) => c.drain().catch(() => undefined)));
    },
  };
}

/**
 * The fleet spread over `procs` child processes (test/bench/fleet-proc.ts), `opts.n / procs`
 * agents each, started at the same time: N endpoints' work on every core of the machine rather
 * than one. Per-agent memory is the mean over the children.
 */
export async function startFleetProcs(
  url: string,
  dir: string,
  opts: FleetOptions,
  procs: number,
): Promise<Fleet> {
  const per = Math.ceil(opts.n / procs);
  const file = fileURLToPath(new URL('./fleet-proc.js', import.meta.url));
  const t0 = performance.now();
  const children: { child: ChildProcess; n: number; exited: Promise<void> }[] = [];
  for (let first = 0; first < opts.n; first += per) {
    const n = Math.min(per, opts.n - first);
    const child = fork(file, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const start: FleetProcStart = { url, dir, opts: { ...opts, n, first } };
    child.send(start);
    children.push({ child, n, exited });
  }
  const stopAll = async () => {
    for (const c of children) if (c.child.connected) c.child.send('stop');
    const bound = setTimeout(() => children.forEach((c) => c.child.kill('SIGKILL')), 120_000);
    await Promise.all(children.map((c) => c.exited));
    clearTimeout(bound);
  };
  let started: Extract<FleetProcReply, { type: 'started' }>[];
  try {
    started = await Promise.all(
      children.map(
        (c) =>
          new Promise<Extract<FleetProcReply, { type: 'started' }>>((resolve, reject) => {
            c.child.on('message', (m: FleetProcReply) => {
              if (m.type === 'started') resolve(m);
              else if (m.type === 'failed') reject(new Error(`fleet process failed: ${m.error}`));
            });
            void c.exited.then(() => reject(new Error('a fleet process exited before its agents started')));
          }),
      ),
    );
  } catch (err) {
    await stopAll();
    throw err;
  }
  const mean = (pick: (s: (typeof started)[number]) => number) =>
    started.reduce((sum, s, i) => sum + pick(s) * children[i]!.n, 0) / opts.n;
  return {
    pids: children.map((c) => c.child.pid!),
    startMs: performance.now() - t0,
    heapPerAgentBytes: mean((s) => s.heapPerAgentBytes),
    rssPerAgentBytes: mean((s) => s.rssPerAgentBytes),
    stop: stopAll,
  };
}

/** Raw pipeline: publish N messages of `size` bytes, consume + ack, batch-insert N rows. Returns ms. */
export async function rawFanOut(
  nc: NatsConnection,
  dir: string,
  n: number,
  size: number,
  tag: string,
): Promise<number> {
  const jsm = await jetstreamManager(nc);
  const stream = `BENCH_RAW_${tag}`;
  await jsm.streams.add({ name: stream, subjects: [`benchraw.${tag}.>`], max_bytes: 512 * MiB });
  await jsm.consumers.add(stream, {
    durable_name: 'raw',
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    max_ack_pending: 20_000,
  });
  const db = new Database(join(dir, `raw-${tag}.db`));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(`CREATE TABLE r (id TEXT PRIMARY KEY, pc_id TEXT, status TEXT, body TEXT, stream_seq INTEGER)`);
  const insert = db.prepare('INSERT INTO r VALUES (?, ?, ?, ?, ?)');
  const js = jetstream(nc);
  const payload = 'x'.repeat(size);
  const consumer = await js.consumers.get(stream, 'raw');
  const t0 = performance.now();
  const publishing = (async () => {
    for (let i = 0; i < n; i += 1000) {
      await Promise.all(
        Array.from({ length: Math.min(1000, n - i) }, (_, k) =>
          js.publish(`benchraw.${tag}.pc-${i + k}`, payload, { msgID: `${tag}-${i + k}` }),
        ),
      );
    }
  })();
  const messages = await consumer.consume({ max_messages: 1000 });
  let seen = 0;
  let pending: { m: { ack(): void }; row: unknown[] }[] = [];
  const commit = db.transaction((rows: unknown[][]) => {
    for (const r of rows) insert.run(...r);
  });
  const flush = () => {
    commit.immediate(pending.map((p) => p.row));
    for (const p of pending) p.m.ack();
    pending = [];
  };
  for await (const m of messages) {
    seen++;
    pending.push({ m, row: [m.subject, m.subject.split('.')[2], 'ok', m.string(), m.seq] });
    if (pending.length >= 500 || m.info.pending === 0 || seen >= n) flush();
    if (seen >= n) break;
  }
  await publishing;
  const ms = performance.now() - t0;
  await messages.close();
  db.close();
  await jsm.streams.delete(stream);
  return ms;
}

/** Size of one ExecResult as the simulator produces it (to size the raw messages alike). */
const RESULT_OVERHEAD_BYTES = 700;

export type FanOutOptions = {
  agentRoot?: string;
  /** Write a CPU profile of the fan-out window (this process: the agents) into this folder. */
  profileDir?: string;
  sizes: number[];
  sim: SimOptions;
  agentsPerConnection: number;
  startConcurrency: number;
  /** Child processes the agents are spread over; 0 = all in this process. */
  agentProcs: number;
};

/** Milliseconds since the epoch of a server timestamp (RFC 3339 with up to nanoseconds). */
function storedAtMs(ts: string): number {
  return Date.parse(ts.replace(/(\.\d{3})\d*Z$/, '$1Z'));
}

export async function runFanOutBench(opts: FanOutOptions): Promise<BenchReport> {
  const figures: Figure[] = [];
  const notes: string[] = [
    `simulated agents run the real Agent code in ${opts.agentProcs > 0 ? `${opts.agentProcs} child processes (--agent-procs)` : 'one process'}; only script execution is replaced by an in-process executor (${opts.sim.outputBytes} bytes of stdout after ${opts.sim.durationMs} ms)`,
    `agents' data dirs (journal, outbox): ${opts.agentRoot ?? 'the temp dir, on the disk'}`,
    `agents per NATS connection: ${opts.agentsPerConnection === 1 ? '1 (each agent its own connection)' : opts.agentsPerConnection}`,
    'fan-out: from `startExecution` (target all) until every result is a row in SQLite, projector as a child process',
    'raw: publish N result-sized messages to a stream, consume + ack, insert N rows into SQLite in batches of 500 (WAL, synchronous=FULL), pipelined',
  ];
  for (const n of opts.sizes) {
    process.stderr.write(`fan-out: starting ${n} simulated agents...\n`);
    const b = await startBenchServer(1 / 8);
    const proj = await startProjectorProcess(b.server.url, b.dir);
    const root = opts.agentRoot ? join(opts.agentRoot, `baton-bench-${process.pid}-${n}`) : undefined;
    let fleet: Fleet | null = null;
    try {
      await putJob(b.nc, 'fanout', 'df -P /');
      const fleetOpts: FleetOptions = { n, ...opts, ...(root ? { agentRoot: root } : {}) };
      fleet =
        opts.agentProcs > 0
          ? await startFleetProcs(b.server.url, b.dir, fleetOpts, opts.agentProcs)
          : await startFleet(b.server.url, b.dir, fleetOpts);
      const fleetPids = fleet.pids;
      const fleetCpu = () => fleetPids.reduce((sum, pid) => sum + sampleProcess(pid).cpuSec, 0);
      // agents_state is written by each agent's first heartbeat; `all` resolves from it.
      const states = await new Kvm(b.nc).open(BUCKETS.agentsState);
      for (let i = 0; i < 600 && (await states.status()).values < n; i++) await delay(100);
      const consumers = await consumerCount(b.nc);
      const job = await (await JobStore.open(b.nc)).require('fanout');
      process.stderr.write(`fan-out: ${n} agents up in ${(fleet.startMs / 1000).toFixed(1)} s; running...\n`);
      const natsPid = serverPid(b.server.dir);
      const cpu0 = {
        nats: natsPid ? sampleProcess(natsPid).cpuSec : NaN,
        proj: sampleProcess(proj.child.pid!).cpuSec,
        self: process.cpuUsage(),
        fleet: fleetCpu(),
      };
      const profiler = opts.profileDir ? new Session() : null;
      if (profiler) {
        profiler.connect();
        await profiler.post('Profiler.enable');
        await profiler.post('Profiler.start');
      }
      const t0 = performance.now();
      const t0Wall = Date.now();
      const started = await startExecution(b.nc, {
        job,
        targets: [{ kind: 'all' }],
        trigger: { kind: 'adhoc', actor: 'bench' },
        actor: { kind: 'user', name: 'bench' },
        source: { via: 'cli' },
      });
      const publishedMs = performance.now() - t0;
      if (started.expectedPcs.length !== n)
        throw new Error(`expected ${n} pcs, resolved ${started.expectedPcs.length}`);
      const done = await proj.waitResults(started.execId, n, 600_000);
      // When the last result was stored in RESULTS (the agents' side done) against when it was in
      // SQLite (the projector): the server's own timestamp of the stream's last message (same
      // machine, same clock), which polling from this busy event loop would see late.
      const jsm = await jetstreamManager(b.nc);
      const storedMs = storedAtMs((await jsm.streams.info('RESULTS')).state.last_ts) - t0Wall;
      if (profiler) {
        const { profile } = await profiler.post('Profiler.stop');
        const file = join(opts.profileDir!, `fanout-${n}.cpuprofile`);
        await writeFile(file, JSON.stringify(profile));
        profiler.disconnect();
        notes.push(
          `fan-out to ${n}: CPU profile of ${fleetPids.length > 0 ? 'the bench process (not the agents: --agent-procs)' : "the agents' process"} during the fan-out: ${file}`,
        );
      }
      const self = process.cpuUsage(cpu0.self);
      const selfSec = (self.user + self.system) / 1e6;
      const cpu = {
        nats: natsPid ? sampleProcess(natsPid).cpuSec - cpu0.nats : NaN,
        proj: sampleProcess(proj.child.pid!).cpuSec - cpu0.proj,
        agents: fleetPids.length > 0 ? fleetCpu() - cpu0.fleet : selfSec,
      };
      const agentsCpu =
        fleetPids.length > 0
          ? `agents' ${fleetPids.length} processes ${cpu.agents.toFixed(1)} s (the bench process ${selfSec.toFixed(1)} s)`
          : `agents' process ${cpu.agents.toFixed(1)} s`;
      const batonMs = done - t0;
      process.stderr.write(
        `fan-out: ${n} results in SQLite after ${batonMs.toFixed(0)} ms; raw ceiling...\n`,
      );
      notes.push(
        `fan-out to ${n}: startExecution (resolve all, receipt, request) returned after ${publishedMs.toFixed(0)} ms; every result stored in RESULTS after ${storedMs.toFixed(0)} ms; CPU during the fan-out: ${agentsCpu}, nats-server ${cpu.nats.toFixed(1)} s, projector ${cpu.proj.toFixed(1)} s`,
      );
      const rawMs = await rawFanOut(b.nc, b.dir, n, RESULT_OVERHEAD_BYTES + opts.sim.outputBytes, `n${n}`);
      figures.push(
        timeFigure(`fan-out to ${n}: run -> all in SQLite`, batonMs, rawMs, 'ms', n <= 1_000 ? 2 : 3),
        rateFigure(`fan-out to ${n}: results/s`, (n / batonMs) * 1000, (n / rawMs) * 1000, 'results/s', null),
        absoluteFigure(`fleet of ${n}: start`, fleet.startMs / 1000, 's'),
        absoluteFigure(`fleet of ${n}: heap per agent`, fleet.heapPerAgentBytes / 1024, 'KiB'),
        absoluteFigure(`fleet of ${n}: RSS per agent`, fleet.rssPerAgentBytes / 1024, 'KiB'),
        absoluteFigure(`fleet of ${n}: broker consumers`, consumers.total, 'consumers'),
        absoluteFigure(`fleet of ${n}: EXEC consumers`, consumers.byStream['EXEC'] ?? 0, 'consumers'),
      );
    } finally {
      await fleet?.stop();
      await proj.stop();
      await b.server.stop();
      await rm(b.dir, { recursive: true, force: true });
      if (root) await rm(root, { recursive: true, force: true });
    }
  }
  return { name: 'fan-out', title: 'Fan-out: one run to every agent', notes, figures };
}
