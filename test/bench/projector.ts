// Projector throughput against the raw ceiling measured in the same run (docs/benchmarks.md,
// docs/projector.md "Throughput"):
//   (a) raw JetStream consume+ack of the same N messages, and raw better-sqlite3 batched inserts of
//       N rows of the same width (same pragmas: WAL, synchronous=FULL);
//   (b) the projector: decode, validate, upsert result + run row, recount the execution, ack.
// Two scenarios. A cold start: a new projector started against a backlog of N results and their
// executions' run.start receipts. Then bursts into that projector, now running: each round
// announces new executions (their receipts are projected first, as they are before any result
// of theirs exists), pauses the projector's RESULTS consumer on the server, publishes N results,
// measures the raw ceilings over exactly those messages, resumes the consumer and times the
// projector from the moment the server starts delivering them. The target (>= 50% of the slower
// raw ceiling) is judged on the median burst: a burst reaches a projector that is running.
// No assertions: timing belongs here, never in tests.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { DEFAULT_LIMITS, ensureTopology, scaleLimits } from '../../src/kv/index.js';
import { Projector, durableName } from '../../src/projector/index.js';
import { startTestServer } from '../helpers/nats-server.js';
import { resultMessage, runStartMessage, type Published } from '../helpers/projector-fixtures.js';

export type ProjectorBenchOptions = {
  n: number;
  pcsPerExec: number;
  /** Bursts into the running projector, each with its own raw ceilings. */
  rounds: number;
};

export type Row = { name: string; ms: number; perSec: number };

/** One round's rows: raw consume, raw insert, projector. */
export type ProjectorRound = { consume: Row; insert: Row; projector: Row };

export type ProjectorBenchResult = {
  /** A new projector started against a backlog; `startMs`: database, consumers, apply worker. */
  cold: ProjectorRound & { startMs: number };
  /** Bursts into the running projector; empty when the server cannot pause a consumer. */
  bursts: (ProjectorRound & { resumeMs: number })[];
  /** Why there are no bursts (a server older than 2.11 cannot pause a consumer). */
  burstsSkipped?: string;
};

const STDOUT = Array.from(
  { length: 12 },
  (_, i) => `/dev/sda${i} 1048576 ${i * 1000} 1000 ${i}% /mnt/${i}\n`,
).join('');

/**
 * N results of executions over `pcsPerExec` pcs each, with realistic inline output; `tag` keeps
 * the execution ids of different bursts apart.
 */
function workload(n: number, pcsPerExec: number, tag: string): { starts: Published[]; results: Published[] } {
  const starts: Published[] = [];
  const results: Published[] = [];
  for (let e = 0; results.length < n; e++) {
    const execId = `BENCH${tag}X${String(e).padStart(5, '0')}`;
    const pcs = Array.from(
      { length: Math.min(pcsPerExec, n - results.length) },
      (_, i) => `pc-${String(i).padStart(5, '0')}`,
    );
    starts.push(runStartMessage(execId, pcs, '2099-01-01T00:00:00.000Z'));
    for (const [i, pc] of pcs.entries()) {
      results.push(
        resultMessage({
          execId,
          pcId: pc,
          status: i % 50 === 0 ? 'failed' : 'ok',
          exitCode: i % 50 === 0 ? 1 : 0,
          stdout: i % 50 === 0 ? 'df: /mnt/3: Input/output error\n' : STDOUT,
        }),
      );
    }
  }
  return { starts, results };
}

async function publishAll(nc: NatsConnection, msgs: Published[]): Promise<void> {
  const js = jetstream(nc);
  for (let i = 0; i < msgs.length; i += 1000) {
    await Promise.all(msgs.slice(i, i + 1000).map((m) => js.publish(m.subject, m.data, { msgID: m.msgID })));
  }
}

/** Consumes and acks the n messages of RESULTS from `firstSeq` with a new durable consumer. */
async function rawConsume(nc: NatsConnection, n: number, durable: string, firstSeq: number): Promise<number> {
  const jsm = await jetstreamManager(nc);
  await jsm.consumers.add('RESULTS', {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: firstSeq,
    max_ack_pending: Math.max(n, 1000),
  });
  const consumer = await jetstream(nc).consumers.get('RESULTS', durable);
  const t0 = performance.now();
  const messages = await consumer.consume({ max_messages: 1000 });
  let seen = 0;
  for await (const m of messages) {
    m.ack();
    if (++seen >= n) break;
  }
  await messages.close();
  return performance.now() - t0;
}

function rawInsert(dir: string, results: Published[], file: string): number {
  const db = new Database(join(dir, file));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(`CREATE TABLE r (id TEXT PRIMARY KEY, exec_id TEXT, pc_id TEXT, status TEXT, exit_code INTEGER,
    finished_at TEXT, stdout_sha256 TEXT, stdout TEXT, stderr TEXT, stream_seq INTEGER)`);
  const insert = db.prepare('INSERT INTO r VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  // Values prepared up front: this measures SQLite, not JSON.
  const rows = results.map((m, i) => {
    const r = JSON.parse(Buffer.from(m.data).toString('utf8')) as {
      resultId: string;
      execId: string;
      pcId: string;
      status: string;
      exitCode: number;
      finishedAt: string;
      stdout: { sha256: string; inline?: { data: string } };
    };
    return [
      r.resultId,
      r.execId,
      r.pcId,
      r.status,
      r.exitCode,
      r.finishedAt,
      r.stdout.sha256,
      r.stdout.inline?.data ?? '',
      '',
      i + 1,
    ];
  });
  const batch = db.transaction((chunk: unknown[][]) => {
    for (const row of chunk) insert.run(...row);
  });
  const t0 = performance.now();
  for (let i = 0; i < rows.length; i += 500) batch.immediate(rows.slice(i, i + 500));
  const ms = performance.now() - t0;
  db.close();
  return ms;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const row = (name: string, ms: number, n: number): Row => ({ name, ms, perSec: (n / ms) * 1000 });

/** The next sequence RESULTS will store. */
async function nextSeq(nc: NatsConnection): Promise<number> {
  const info = await (await jetstreamManager(nc)).streams.info('RESULTS');
  return info.state.last_seq + 1;
}

async function rawCeilings(
  nc: NatsConnection,
  dir: string,
  results: Published[],
  tag: string,
  firstSeq: number,
): Promise<{ consume: Row; insert: Row }> {
  const n = results.length;
  const consume = await rawConsume(nc, n, `bench-raw-${tag}`, firstSeq);
  const insert = rawInsert(dir, results, `raw-${tag}.db`);
  return {
    consume: row('raw JetStream consume+ack', consume, n),
    insert: row('raw SQLite batched insert', insert, n),
  };
}

/**
 * Measures the ceilings, then starts a new projector against the backlog and times it. Like the
 * raw ceilings, which leave out creating their consumer and their table, the projector is timed
 * from start() returning (database opened and migrated, consumers created, apply worker started);
 * the start is reported on its own. Returns the projector, running.
 */
async function coldStart(
  nc: NatsConnection,
  dir: string,
  opts: ProjectorBenchOptions,
): Promise<{ p: Projector; cold: ProjectorBenchResult['cold'] }> {
  const { starts, results } = workload(opts.n, opts.pcsPerExec, '0');
  process.stderr.write(`publishing ${results.length} results (${starts.length} executions)...\n`);
  const firstSeq = await nextSeq(nc);
  await publishAll(nc, starts);
  await publishAll(nc, results);
  const raw = await rawCeilings(nc, dir, results, 'cold', firstSeq);
  const p = new Projector(nc, { dbPath: join(dir, 'projector.db'), instance: 'bench', emitPresence: false });
  const s0 = performance.now();
  await p.start();
  const t0 = performance.now();
  while (resultsApplied(p) < results.length) await sleep(5);
  return {
    p,
    cold: {
      ...raw,
      projector: row('projector', performance.now() - t0, results.length),
      startMs: t0 - s0,
    },
  };
}

const resultsApplied = (p: Projector) => p.stats().streams['RESULTS']?.applied ?? 0;
const auditApplied = (p: Projector) => p.stats().streams['AUDIT']?.applied ?? 0;

/** How long after the raw ceilings the burst's pause ends. */
const RESUME_AFTER_MS = 50;

/**
 * One burst into the running projector. The run.start receipts go first and are projected (an
 * execution is announced before any result of it exists); then the projector's RESULTS consumer
 * is paused on the server, the results are published and the raw ceilings measured over exactly
 * those messages; then the pause ends. The projector is timed from the last moment its consumer had
 * been delivered none of the burst (polled every 5 ms: the time can only come out longer) until
 * every result is applied.
 */
async function burst(
  nc: NatsConnection,
  dir: string,
  p: Projector,
  opts: ProjectorBenchOptions,
  round: number,
): Promise<ProjectorRound & { resumeMs: number }> {
  const jsm = await jetstreamManager(nc);
  const durable = durableName('bench', 'RESULTS');
  const { starts, results } = workload(opts.n, opts.pcsPerExec, String(round));
  const announced = auditApplied(p) + starts.length;
  await publishAll(nc, starts);
  while (auditApplied(p) < announced) await sleep(5);
  await jsm.consumers.pause('RESULTS', durable, new Date(Date.now() + 3_600_000));
  const firstSeq = await nextSeq(nc);
  await publishAll(nc, results);
  const raw = await rawCeilings(nc, dir, results, `burst-${round}`, firstSeq);
  const before = resultsApplied(p);
  // The pause is ended by a deadline a moment away rather than by a resume: the server wakes the
  // consumer when its pause deadline passes, while after a resume it waits for its next wake-up
  // (650-950 ms here).
  const resumedAt = performance.now();
  await jsm.consumers.pause('RESULTS', durable, new Date(Date.now() + RESUME_AFTER_MS));
  // t0: when the last look that found nothing delivered was asked for.
  let t0 = resumedAt;
  for (;;) {
    const asked = performance.now();
    const info = await jsm.consumers.info('RESULTS', durable);
    if (info.delivered.stream_seq >= firstSeq) break;
    t0 = asked;
    await sleep(5);
  }
  while (resultsApplied(p) < before + results.length) await sleep(2);
  return {
    ...raw,
    projector: row('projector', performance.now() - t0, results.length),
    resumeMs: t0 - resumedAt,
  };
}

/** Whether the server can pause a consumer (nats-server 2.11+); the reason when it cannot. */
async function pauseUnsupported(nc: NatsConnection): Promise<string | undefined> {
  const jsm = await jetstreamManager(nc);
  const durable = durableName('bench', 'RESULTS');
  try {
    // Nothing is published meanwhile, so the consumer has nothing to catch up on after this.
    const r = await jsm.consumers.pause('RESULTS', durable, new Date(Date.now() + 60_000));
    await jsm.consumers.resume('RESULTS', durable);
    return r.paused ? undefined : `nats-server ${nc.info?.version ?? '?'} did not pause the consumer`;
  } catch (err) {
    return `nats-server ${nc.info?.version ?? '?'} cannot pause a consumer (2.11+): ${(err as Error).message}`;
  }
}

/**
 * The cold start, then `rounds` bursts into the running projector, each with its own raw
 * ceilings, so the report can take the median burst of a machine whose speed moves by +-30 %.
 */
export async function runProjectorBench(opts: ProjectorBenchOptions): Promise<ProjectorBenchResult> {
  const server = await startTestServer();
  const dir = await mkdtemp(join(tmpdir(), 'baton-bench-'));
  try {
    const nc = await server.connect('bench');
    await ensureTopology(nc, { replicas: 1, limits: scaleLimits(DEFAULT_LIMITS, 1 / 32) });
    const { p, cold } = await coldStart(nc, dir, opts);
    try {
      const skipped = await pauseUnsupported(nc);
      const bursts: ProjectorBenchResult['bursts'] = [];
      for (let i = 1; !skipped && i <= opts.rounds; i++) {
        process.stderr.write(`burst ${i} of ${opts.rounds}...\n`);
        bursts.push(await burst(nc, dir, p, opts, i));
      }
      return { cold, bursts, ...(skipped ? { burstsSkipped: skipped } : {}) };
    } finally {
      await p.stop();
    }
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The slower of a round's two raw ceilings, in results/s. */
export function ceilingOf(round: ProjectorRound): number {
  return Math.min(round.consume.perSec, round.insert.perSec);
}

/** The projector's share of the slower raw ceiling in one round. */
export function roundRatio(round: ProjectorRound): number {
  return round.projector.perSec / ceilingOf(round);
}

/** The round with the median ratio (the lower middle one of an even count). */
export function medianRound<R extends ProjectorRound>(rounds: R[]): R {
  const sorted = [...rounds].sort((a, b) => roundRatio(a) - roundRatio(b));
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/** The round the target is judged on: the median burst, or the cold start when there are none. */
export function judgedRound(r: ProjectorBenchResult): ProjectorRound {
  return r.bursts.length > 0 ? medianRound(r.bursts) : r.cold;
}

function table(title: string, round: ProjectorRound, extra: string[]): string[] {
  const ceiling = ceilingOf(round);
  const lines = [
    '',
    title,
    `${'measure'.padEnd(28)}${'ms'.padStart(10)}${'results/s'.padStart(12)}${'vs ceiling'.padStart(12)}`,
  ];
  for (const r of [round.consume, round.insert, round.projector]) {
    const share = `${((r.perSec / ceiling) * 100).toFixed(0)}%`;
    lines.push(
      `${r.name.padEnd(28)}${r.ms.toFixed(0).padStart(10)}${r.perSec.toFixed(0).padStart(12)}${share.padStart(12)}`,
    );
  }
  return [...lines, ...extra];
}

export function formatProjectorBench(r: ProjectorBenchResult, n: number): string {
  const lines = [`projector benchmark: ${n} ExecResults`];
  lines.push(
    ...table('cold start: a new projector against a backlog of results and run.start receipts', r.cold, [
      `projector start (not timed above: database, consumers, apply worker): ${r.cold.startMs.toFixed(0)} ms`,
    ]),
  );
  for (const [i, b] of r.bursts.entries()) {
    lines.push(
      ...table(`burst ${i + 1}: results into the running projector`, b, [
        `delivery began ${b.resumeMs.toFixed(0)} ms after the pause was set to end in ${RESUME_AFTER_MS} ms (not timed above)`,
      ]),
    );
  }
  if (r.burstsSkipped) lines.push('', `bursts skipped: ${r.burstsSkipped}`);
  const ratio = roundRatio(judgedRound(r));
  const which = r.bursts.length > 0 ? `the median of ${r.bursts.length} burst(s)` : 'the cold start';
  lines.push(
    '',
    `projector = ${(ratio * 100).toFixed(0)}% of the slower raw ceiling in ${which} (target >= 50%): ${ratio >= 0.5 ? 'met' : 'NOT met'}; cold start ${(roundRatio(r.cold) * 100).toFixed(0)}%`,
  );
  return lines.join('\n');
}
