// Projector throughput against the raw ceiling measured in the same run (docs/benchmarks.md):
//   (a) raw JetStream consume+ack of the same N messages, and raw better-sqlite3 batched inserts of
//       N rows of the same width (same pragmas: WAL, synchronous=FULL);
//   (b) the projector: decode, validate, upsert result + run row, recount the execution, ack.
// Prints results/s and the projector's ratio to the slower raw ceiling (target >= 50%).
// No assertions: timing belongs here, never in tests.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { DEFAULT_LIMITS, ensureTopology, scaleLimits } from '../../src/kv/index.js';
import { Projector } from '../../src/projector/index.js';
import { startTestServer } from '../helpers/nats-server.js';
import { resultMessage, runStartMessage, type Published } from '../helpers/projector-fixtures.js';

export type ProjectorBenchOptions = {
  n: number;
  pcsPerExec: number;
  /** Rounds of (raw consume, raw insert, projector) over the same published messages. */
  rounds: number;
};

export type Row = { name: string; ms: number; perSec: number };

/** One round's rows: raw consume, raw insert, projector, projector start. */
export type ProjectorRound = Row[];

const STDOUT = Array.from(
  { length: 12 },
  (_, i) => `/dev/sda${i} 1048576 ${i * 1000} 1000 ${i}% /mnt/${i}\n`,
).join('');

/** N results of executions over `pcsPerExec` pcs each, with realistic inline output. */
function workload(n: number, pcsPerExec: number): { starts: Published[]; results: Published[] } {
  const starts: Published[] = [];
  const results: Published[] = [];
  for (let e = 0; results.length < n; e++) {
    const execId = `BENCH${String(e).padStart(5, '0')}`;
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

async function rawConsume(nc: NatsConnection, n: number, durable: string): Promise<number> {
  const jsm = await jetstreamManager(nc);
  await jsm.consumers.add('RESULTS', {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    max_ack_pending: 20_000,
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

/**
 * Projects the backlog. Like the raw ceilings, which leave out creating their consumer and their
 * table, the rate leaves out the projector's start (opening and migrating the database, creating
 * its consumers, starting the apply worker): it is timed from start() returning, over the results
 * applied after that. The start is reported on its own.
 */
async function projector(
  nc: NatsConnection,
  dir: string,
  n: number,
  round: number,
): Promise<{ ms: number; startMs: number; applied: number }> {
  const p = new Projector(nc, {
    dbPath: join(dir, `projector-${round}.db`),
    instance: `bench${round}`,
    emitPresence: false,
  });
  const applied = () => p.stats().streams['RESULTS']?.applied ?? 0;
  const s0 = performance.now();
  await p.start();
  const t0 = performance.now();
  const before = applied();
  while (applied() < n) await new Promise((r) => setTimeout(r, 5));
  const ms = performance.now() - t0;
  await p.stop();
  return { ms, startMs: t0 - s0, applied: n - before };
}

/**
 * Publishes the workload once, then measures `rounds` rounds of the raw ceilings and the projector
 * over it (each with its own consumers and database files), so the report can take the median
 * round instead of one sample of a machine whose speed moves by +-30 % from second to second.
 */
export async function runProjectorBench(opts: ProjectorBenchOptions): Promise<ProjectorRound[]> {
  const server = await startTestServer();
  const dir = await mkdtemp(join(tmpdir(), 'baton-bench-'));
  try {
    const nc = await server.connect('bench');
    await ensureTopology(nc, { replicas: 1, limits: scaleLimits(DEFAULT_LIMITS, 1 / 32) });
    const { starts, results } = workload(opts.n, opts.pcsPerExec);
    process.stderr.write(`publishing ${results.length} results (${starts.length} executions)...\n`);
    await publishAll(nc, starts);
    await publishAll(nc, results);
    const row = (name: string, ms: number, n = results.length): Row => ({
      name,
      ms,
      perSec: (n / ms) * 1000,
    });
    const rounds: ProjectorRound[] = [];
    for (let i = 1; i <= opts.rounds; i++) {
      const consume = await rawConsume(nc, results.length, `bench-raw-${i}`);
      const insert = rawInsert(dir, results, `raw-${i}.db`);
      const proj = await projector(nc, dir, results.length, i);
      rounds.push([
        row('raw JetStream consume+ack', consume),
        row('raw SQLite batched insert', insert),
        row('projector', proj.ms, proj.applied),
        row('projector start', proj.startMs, 0),
      ]);
    }
    return rounds;
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The projector's share of the slower raw ceiling in one round. */
export function roundRatio(round: ProjectorRound): number {
  return round[2]!.perSec / Math.min(round[0]!.perSec, round[1]!.perSec);
}

/** The round with the median ratio (the lower middle one of an even count). */
export function medianRound(rounds: ProjectorRound[]): ProjectorRound {
  const sorted = [...rounds].sort((a, b) => roundRatio(a) - roundRatio(b));
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

export function formatProjectorBench(rounds: ProjectorRound[], n: number): string {
  const lines = [`projector benchmark: ${n} ExecResults, ${rounds.length} round(s)`];
  for (const [i, rows] of rounds.entries()) {
    const ceiling = Math.min(rows[0]!.perSec, rows[1]!.perSec);
    lines.push(
      '',
      `round ${i + 1}`,
      `${'measure'.padEnd(28)}${'ms'.padStart(10)}${'results/s'.padStart(12)}${'vs ceiling'.padStart(12)}`,
    );
    for (const r of rows) {
      const rate = r.perSec > 0 ? r.perSec.toFixed(0) : '-';
      const share = r.perSec > 0 ? `${((r.perSec / ceiling) * 100).toFixed(0)}%` : '-';
      lines.push(
        `${r.name.padEnd(28)}${r.ms.toFixed(0).padStart(10)}${rate.padStart(12)}${share.padStart(12)}`,
      );
    }
  }
  const ratio = roundRatio(medianRound(rounds));
  lines.push(
    '',
    `projector = ${(ratio * 100).toFixed(0)}% of the slower raw ceiling in the median round (target >= 50%): ${ratio >= 0.5 ? 'met' : 'NOT met'}`,
  );
  return lines.join('\n');
}
