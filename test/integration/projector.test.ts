// The projector against a real nats-server and real SQLite files: idempotence under duplicates and
// redelivery, a SIGKILLed projector process, rebuild, overflowed output, malformed messages,
// expiry, output groups, presence and the read commands.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { Objm } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { EXIT } from '../../src/cli/exit-codes.js';
import {
  PROJECTION_TABLES,
  Projector,
  deleteDurables,
  dumpTable,
  durableName,
  openReadOnlyDb,
  type ProjectorOptions,
} from '../../src/projector/index.js';
import { BUCKETS, OBJECT_STORES, resultOutputKey } from '../../src/kv/index.js';
import { encodeAgentState } from '../../src/wire/index.js';
import { BATON_MAIN } from '../helpers/cli.js';
import {
  resultMessage,
  runEventMessage,
  runStartMessage,
  type Published,
} from '../helpers/projector-fixtures.js';
import { startStack, type TestStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

const FAR = '2099-01-01T00:00:00.000Z';

async function publish(
  nc: NatsConnection,
  msgs: Published[],
  opts: { dedupe?: boolean } = {},
): Promise<void> {
  const js = jetstream(nc);
  await Promise.all(
    msgs.map((m) => js.publish(m.subject, m.data, opts.dedupe === false ? {} : { msgID: m.msgID })),
  );
}

function dumpDb(path: string): Record<string, unknown[]> {
  const db = openReadOnlyDb(path);
  try {
    return Object.fromEntries(PROJECTION_TABLES.map((t) => [t, dumpTable(db, t)]));
  } finally {
    db.close();
  }
}

function count(path: string, sql: string): number {
  const db = openReadOnlyDb(path);
  try {
    return (db.prepare(sql).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

async function caughtUp(p: Projector): Promise<void> {
  await waitFor('the projector to catch up', () => p.caughtUp(), { timeoutMs: 20_000 });
}

function fleet(execId: string, n: number): Published[] {
  const pcs = Array.from({ length: n }, (_, i) => `pc-${String(i).padStart(4, '0')}`);
  return [
    runStartMessage(execId, pcs, FAR),
    ...pcs.flatMap((pc) => [runEventMessage(execId, pc, 'accepted'), runEventMessage(execId, pc, 'started')]),
    ...pcs.map((pc, i) =>
      resultMessage({
        execId,
        pcId: pc,
        status: i % 10 === 0 ? 'failed' : 'ok',
        exitCode: i % 10 === 0 ? 1 : 0,
        stdout: i % 10 === 0 ? 'disk full\n' : 'fine\n',
      }),
    ),
  ];
}

describe('projector: exactly-once projection', () => {
  let s: TestStack;
  let nc: NatsConnection;
  before(async () => {
    s = await startStack();
    nc = await s.server.connect('projector-test');
  });
  after(async () => s.stop());

  const opts = (name: string, extra: Partial<ProjectorOptions> = {}): ProjectorOptions => ({
    dbPath: join(s.dir, `${name}.db`),
    instance: name,
    emitPresence: false,
    ...extra,
  });

  test('duplicates and redelivered messages produce no duplicate rows', async () => {
    const msgs = fleet('DUP', 40);
    await publish(nc, msgs);
    // The same messages again without Nats-Msg-Id: stored twice, at new sequences.
    await publish(nc, msgs, { dedupe: false });
    const o = opts('dup');
    const p = new Projector(nc, o);
    await p.start();
    await p.start(); // idempotent
    await caughtUp(p);
    await p.stop();
    await p.stop(); // idempotent
    const first = dumpDb(o.dbPath);
    assert.equal(first['results']!.length, 40);
    assert.equal(first['run_events']!.length, 80);
    assert.equal(first['runs']!.length, 40);
    const exec = first['executions']![0] as Record<string, unknown>;
    assert.deepEqual([exec['total'], exec['ok'], exec['failed'], exec['status']], [40, 36, 4, 'failed']);

    // Forget the consumers: every message is delivered again into the same database.
    await deleteDurables(await jetstreamManager(nc), 'dup');
    const again = new Projector(nc, o);
    await again.start();
    await caughtUp(again);
    await again.stop();
    assert.deepEqual(dumpDb(o.dbPath), first);
  });

  test('a malformed message is recorded, acked, and projection continues', async () => {
    const js = jetstream(nc);
    await js.publish('results.pc-bad.req-1', new TextEncoder().encode('{"v":1, garbage'));
    await js.publish('events.pc-bad.accepted', new TextEncoder().encode('{}'));
    await js.publish('obs.pc-bad', new Uint8Array([0xff, 0xfe, 0x00]));
    await publish(nc, [resultMessage({ execId: 'AFTERBAD', pcId: 'pc-good' })]);
    const o = opts('bad');
    const p = new Projector(nc, o);
    await p.start();
    await caughtUp(p);
    await p.stop();
    const db = dumpDb(o.dbPath);
    const errors = db['projection_errors'] as {
      stream: string;
      subject: string;
      error: string;
      raw: string;
    }[];
    assert.deepEqual(errors.map((e) => [e.stream, e.subject]).sort(), [
      ['EVENTS', 'events.pc-bad.accepted'],
      ['OBS_EVENTS', 'obs.pc-bad'],
      ['RESULTS', 'results.pc-bad.req-1'],
    ]);
    assert.match(errors.find((e) => e.stream === 'RESULTS')!.raw, /garbage/);
    assert.ok((db['results'] as { exec_id: string }[]).some((r) => r.exec_id === 'AFTERBAD'));
    // Acked: nothing waits for redelivery.
    const info = await (await jetstreamManager(nc)).consumers.info('RESULTS', durableName('bad', 'RESULTS'));
    assert.equal(info.num_ack_pending, 0);
    assert.equal(info.num_pending, 0);
  });

  test('rebuild reproduces identical tables', async () => {
    const kv = await new Kvm(nc).open(BUCKETS.agentsState);
    await kv.put(
      'pc-0001',
      encodeAgentState({
        v: 1,
        pcId: 'pc-0001',
        hostname: 'host-1',
        os: 'linux',
        arch: 'x64',
        agentVersion: '0.1.0',
        groups: ['lab'],
        startedAt: '2025-01-01T00:00:00.000Z',
        lastSeenAt: new Date().toISOString(),
      }),
    );
    const o = opts('live', { emitPresence: true, sweepEveryMs: 50 });
    const p = new Projector(nc, o);
    await p.start();
    // The presence event this projector publishes is part of what a rebuild must reproduce.
    await waitFor(
      'an agent_online event',
      () => count(o.dbPath, "SELECT COUNT(*) AS n FROM obs_events WHERE kind = 'agent_online'") === 1,
    );
    await caughtUp(p);
    await p.stop();
    const live = dumpDb(o.dbPath);
    assert.ok(
      live['executions']!.length >= 2 &&
        live['agents']!.length === 1 &&
        live['projection_errors']!.length === 3,
    );

    const r = await s.cli(['projector', 'rebuild', '--db', o.dbPath, '--instance', 'live', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { counts: Record<string, number> };
    assert.equal(report.counts['results'], live['results']!.length);
    assert.deepEqual(dumpDb(o.dbPath), live);
  });
});

describe('projector: a killed process restarts with exactly the right rows', () => {
  let s: TestStack;
  let nc: NatsConnection;
  before(async () => {
    s = await startStack();
    nc = await s.server.connect('kill-test');
  });
  after(async () => s.stop());

  function spawnProjector(db: string): ChildProcess {
    const child = spawn(
      process.execPath,
      [BATON_MAIN, 'projector', '--db', db, '--instance', 'k', '--ack-wait', '1s', '--server', s.server.url],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, BATON_LOG_LEVEL: 'warn' } },
    );
    return child;
  }
  const exited = (c: ChildProcess) =>
    new Promise<number | null>((resolve) => {
      if (c.exitCode !== null || c.signalCode !== null) resolve(c.exitCode);
      else c.once('exit', (code) => resolve(code));
    });

  test('SIGKILL mid-stream, restart, no loss and no duplicates', async () => {
    const N = 3000;
    const msgs = fleet('KILL', N);
    await publish(nc, msgs);
    const db = join(s.dir, 'kill.db');
    const first = spawnProjector(db);
    await waitFor(
      'some results projected',
      () => {
        try {
          return count(db, 'SELECT COUNT(*) AS n FROM results') > 0;
        } catch {
          return false;
        }
      },
      { timeoutMs: 20_000, intervalMs: 5 },
    );
    first.kill('SIGKILL');
    await exited(first);
    const projected = count(db, 'SELECT COUNT(*) AS n FROM results');
    assert.ok(projected > 0);

    const second = spawnProjector(db);
    const jsm = await jetstreamManager(nc);
    await waitFor(
      'the restarted projector to apply everything',
      async () => {
        const infos = await Promise.all(
          ['RESULTS', 'EVENTS', 'AUDIT'].map((st) => jsm.consumers.info(st, durableName('k', st))),
        );
        return infos.every((i) => i.num_pending === 0 && i.num_ack_pending === 0);
      },
      { timeoutMs: 30_000 },
    );
    second.kill('SIGTERM');
    assert.equal(await exited(second), 0);

    assert.equal(count(db, 'SELECT COUNT(*) AS n FROM results'), N);
    assert.equal(count(db, 'SELECT COUNT(DISTINCT result_id) AS n FROM results'), N);
    assert.equal(count(db, 'SELECT COUNT(*) AS n FROM run_events'), 2 * N);
    assert.equal(count(db, 'SELECT COUNT(*) AS n FROM runs'), N);
    const e = await s.json<{ counts: Record<string, number>; status: string }>([
      'runs',
      'show',
      'KILL',
      '--db',
      db,
    ]);
    assert.equal(e.counts['total'], N);
    assert.equal(e.counts['ok'], N - N / 10);
    assert.equal(e.counts['failed'], N / 10);
    assert.equal(e.status, 'failed');
  });
});

describe('projector: read model through the CLI', () => {
  let s: TestStack;
  let nc: NatsConnection;
  let p: Projector;
  let db: string;
  before(async () => {
    s = await startStack();
    nc = await s.server.connect('cli-test');
    db = join(s.dir, 'cli.db');
    p = new Projector(nc, { dbPath: db, heartbeatMs: 200, sweepEveryMs: 50 });
    await p.start();
  });
  after(async () => {
    await p.stop();
    await s.stop();
  });

  test('an overflowed output is readable in full through `baton results show`', async () => {
    const big = Buffer.from(
      Array.from({ length: 40_000 }, (_, i) => `line ${i} of a long report\n`).join(''),
    );
    assert.ok(big.length > 256 * 1024);
    const sha = createHash('sha256').update(big).digest('hex');
    const store = await new Objm(nc).open(OBJECT_STORES.resultOutput);
    await store.putBlob({ name: resultOutputKey('BIG-0', 'pc-big', 'stdout') }, big);
    await publish(nc, [
      resultMessage({ execId: 'BIG', pcId: 'pc-big', stdoutObject: { bytes: big.length, sha256: sha } }),
    ]);
    await waitFor(
      'the big result',
      () => count(db, "SELECT COUNT(*) AS n FROM results WHERE exec_id = 'BIG'") === 1,
    );
    // The row keeps the pointer, size and hash only.
    const row = openReadOnlyDb(db)
      .prepare('SELECT stdout_inline, stdout_bytes, stdout_object FROM results WHERE exec_id = ?')
      .get('BIG');
    assert.deepEqual(row, {
      stdout_inline: null,
      stdout_bytes: big.length,
      stdout_object: 'BIG-0/pc-big/stdout',
    });
    const out = await new Promise<Buffer>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [BATON_MAIN, 'results', 'show', 'BIG-0.pc-big', '--stdout', '--db', db],
        {
          env: { ...process.env, BATON_NATS_URL: s.server.url },
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      const chunks: Buffer[] = [];
      child.stdout.on('data', (c: Buffer) => chunks.push(c));
      child.on('error', reject);
      child.on('close', (code) =>
        code === 0 ? resolve(Buffer.concat(chunks)) : reject(new Error(`exit ${code}`)),
      );
    });
    assert.equal(out.length, big.length);
    assert.equal(createHash('sha256').update(out).digest('hex'), sha);
  });

  test('expected pcs that never answer expire after the deadline; runs wait exits 1', async () => {
    const deadline = new Date(Date.now() + 1_000).toISOString();
    await publish(nc, [
      runStartMessage('EXP', ['pc-a', 'pc-b', 'pc-c'], deadline),
      resultMessage({ execId: 'EXP', pcId: 'pc-a' }),
      runEventMessage('EXP', 'pc-b', 'accepted'),
      resultMessage({ execId: 'EXP', pcId: 'pc-b' }),
    ]);
    const r = await s.cli(['runs', 'wait', 'EXP', '--db', db, '--timeout', '20s']);
    assert.equal(r.code, EXIT.failed, r.stderr);
    assert.match(r.stdout, /EXP: failed \(ok 2 {2}expired 1\)/);
    const e = await s.json<{
      status: string;
      counts: Record<string, number>;
      runs: { pcId: string; state: string }[];
    }>(['runs', 'show', 'EXP', '--db', db]);
    assert.deepEqual(
      e.runs.map((x) => [x.pcId, x.state]),
      [
        ['pc-a', 'ok'],
        ['pc-b', 'ok'],
        ['pc-c', 'expired'],
      ],
    );
    // A late result still wins.
    await publish(nc, [resultMessage({ execId: 'EXP', pcId: 'pc-c' })]);
    await waitFor(
      'the late result to win',
      () => count(db, "SELECT ok AS n FROM executions WHERE exec_id = 'EXP'") === 3,
    );
    const ok = await s.cli(['runs', 'wait', 'EXP', '--db', db, '--timeout', '20s']);
    assert.equal(ok.code, EXIT.ok, ok.stderr);
  });

  test('identical outputs are grouped; runs ls filters', async () => {
    await publish(nc, fleet('GRP', 30));
    await waitFor(
      'GRP to finish',
      () =>
        count(db, "SELECT COUNT(*) AS n FROM executions WHERE exec_id = 'GRP' AND status != 'running'") === 1,
    );
    const e = await s.json<{ outputGroups: { count: number; status: string; pcs: string[] }[] }>([
      'runs',
      'show',
      'GRP',
      '--db',
      db,
    ]);
    assert.deepEqual(
      e.outputGroups.map((g) => [g.count, g.status]),
      [
        [27, 'ok'],
        [3, 'failed'],
      ],
    );
    assert.deepEqual(e.outputGroups[1]!.pcs, ['pc-0000', 'pc-0010', 'pc-0020']);
    const failed = await s.json<{ execId: string }[]>(['runs', 'ls', '--status', 'failed', '--db', db]);
    assert.ok(failed.some((x) => x.execId === 'GRP'));
    const none = await s.json<unknown[]>(['runs', 'ls', '--job', 'no-such-job', '--db', db]);
    assert.deepEqual(none, []);
    const table = await s.cli(['runs', 'show', 'GRP', '--db', db]);
    assert.match(table.stdout, /2 distinct outputs/);
    assert.equal((await s.cli(['runs', 'show', 'NOPE', '--db', db])).code, EXIT.notFound);
    assert.equal((await s.cli(['runs', 'ls', '--since', 'yesterday', '--db', db])).code, EXIT.usage);
  });

  test('presence: agents go online and offline, on the timeline too', async () => {
    const kv = await new Kvm(nc).open(BUCKETS.agentsState);
    // Heartbeats like a live agent (the test projector expects one every 200 ms), until online is
    // seen; then they stop, as when an agent dies.
    const startedAt = new Date().toISOString();
    const heartbeat = () =>
      kv.put(
        'pc-live',
        encodeAgentState({
          v: 1,
          pcId: 'pc-live',
          hostname: 'live',
          os: 'linux',
          arch: 'x64',
          agentVersion: '0.1.0',
          groups: ['lab-a'],
          startedAt,
          lastSeenAt: new Date().toISOString(),
        }),
      );
    const online = await waitFor('pc-live online', async () => {
      await heartbeat();
      const agents = await s.json<{ pcId: string; online: boolean; groups: string[] }[]>([
        'agents',
        'ls',
        '--db',
        db,
      ]);
      return agents.find((a) => a.pcId === 'pc-live' && a.online);
    });
    assert.deepEqual(online.groups, ['lab-a']);
    // No heartbeat for 3 × 200 ms: offline, and the projector says so on the timeline.
    await waitFor(
      'pc-live offline on the timeline',
      async () => {
        const events = await s.json<{ kind: string }[]>(['events', 'pc-live', '--db', db]);
        return events.map((e) => e.kind).join(',') === 'agent_online,agent_offline';
      },
      { timeoutMs: 15_000 },
    );
    const agent = await s.json<{ online: boolean }>(['agents', 'show', 'pc-live', '--db', db]);
    assert.equal(agent.online, false);
    assert.equal((await s.cli(['agents', 'show', 'pc-nobody', '--db', db])).code, EXIT.notFound);
  });

  test('the timeline shows runs of a pc; audit reads the projection', async () => {
    await publish(nc, fleet('TL', 2));
    await waitFor(
      'TL results',
      () => count(db, "SELECT COUNT(*) AS n FROM results WHERE exec_id = 'TL'") === 2,
    );
    const events = await s.json<{ kind: string; details: { execId?: string } }[]>([
      'events',
      'pc-0001',
      '--db',
      db,
      '--kind',
      'run_accepted,run_started,run_finished',
    ]);
    assert.deepEqual(
      events.filter((e) => e.details.execId === 'TL').map((e) => e.kind),
      ['run_accepted', 'run_started', 'run_finished'],
    );
    const receipts = await s.json<{ action: string; target: { id: string } }[]>([
      'audit',
      '--action',
      'run',
      '--db',
      db,
    ]);
    assert.ok(receipts.some((r) => r.action === 'run.start' && r.target.id === 'TL'));
  });
});
