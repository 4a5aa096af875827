// The apply worker over a real SQLite file, without NATS: what it writes is what the projection
// writes on the calling thread, byte for byte, also when it commits queued batches together;
// decoded batches keep what error rows need.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BatchApplyError,
  BatchWorker,
  PROJECTION_TABLES,
  Projection,
  dumpTable,
  openProjectionDb,
  silentProjectorLogger,
  decodeBatch,
  decodeRawBatch,
  messagesOf,
  type Op,
  type ProjectedStream,
  type RawMessage,
} from '../../src/projector/index.js';
import { encodeAgentState } from '../../src/wire/index.js';
import {
  resultMessage,
  runEventMessage,
  runStartMessage,
  type Published,
} from '../helpers/projector-fixtures.js';

const AT = Date.parse('2025-01-02T03:00:00.000Z');
let seq = 0;
const raw = (stream: ProjectedStream, p: Published): RawMessage => ({
  stream,
  seq: ++seq,
  subject: p.subject,
  data: p.data,
  storedAtMs: AT + seq,
});

function batches(): RawMessage[][] {
  const results = ['pc-a', 'pc-b', 'pc-c'].map((pc, i) =>
    raw('RESULTS', resultMessage({ execId: 'E1', pcId: pc, stdout: i === 2 ? 'other\n' : 'same\n' })),
  );
  const garbage = raw('RESULTS', {
    subject: 'results.pc-x.R1',
    data: new TextEncoder().encode('{"v":1'),
    msgID: 'x',
  });
  return [
    [raw('AUDIT', runStartMessage('E1', ['pc-a', 'pc-b', 'pc-c', 'pc-d'], '2025-01-02T04:00:00.000Z'))],
    [raw('EVENTS', runEventMessage('E1', 'pc-d', 'accepted'))],
    [...results, garbage],
  ];
}

const agent = {
  key: 'pc-a',
  revision: 7,
  at: '2025-01-02T03:00:00.000Z',
  value: encodeAgentState({
    v: 1,
    pcId: 'pc-a',
    hostname: 'a',
    os: 'linux',
    arch: 'x64',
    agentVersion: '0.1.0',
    groups: ['lab'],
    startedAt: '2025-01-02T02:00:00.000Z',
    lastSeenAt: '2025-01-02T03:00:00.000Z',
  }),
};

function tempDb(): { path: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'baton-worker-'));
  const path = join(dir, 'baton.db');
  openProjectionDb(path).close();
  return { path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

describe('decoded batches', () => {
  test('keep what error rows need of every message, and the payload only of messages that are errors', () => {
    const batch = batches()[2]!;
    const decoded = decodeRawBatch(batch);
    assert.deepEqual(
      decoded.ops.map((op) => op.k),
      ['result', 'result', 'result', 'error'],
    );
    const back = messagesOf(decoded);
    assert.deepEqual(
      back.map((m) => ({ ...m, data: Buffer.from(m.data).toString() })),
      batch.map((m, i) => ({ ...m, data: i === 3 ? Buffer.from(m.data).toString() : '' })),
    );
  });

  test('refuse a batch that mixes streams', () => {
    const [[start], [event]] = batches() as [RawMessage[], RawMessage[]];
    assert.throws(() => decodeRawBatch([start!, event!]), /mixes streams 'AUDIT' and 'EVENTS'/);
  });
});

/**
 * Projects `all` and the agent entry on this thread into `directPath` and asserts that every
 * table equals what the worker wrote into `workerPath`; `more` checks the worker's database further.
 */
function assertLikeDirect(
  workerPath: string,
  directPath: string,
  all: RawMessage[][],
  more?: (workerDb: ReturnType<typeof openProjectionDb>) => void,
): void {
  const db = openProjectionDb(directPath);
  const other = openProjectionDb(workerPath);
  try {
    const projection = new Projection(db);
    for (const b of all) projection.applyBatch(b);
    projection.applyAgentEntry(agent);
    for (const table of PROJECTION_TABLES) {
      assert.deepEqual(dumpTable(other, table), dumpTable(db, table), table);
    }
    more?.(other);
  } finally {
    other.close();
    db.close();
  }
}

describe('the apply worker', () => {
  test('writes exactly what the projection writes on the calling thread', async () => {
    const inWorker = tempDb();
    const direct = tempDb();
    const worker = new BatchWorker(inWorker.path, silentProjectorLogger);
    try {
      await worker.start();
      const all = batches();
      const outcomes = [];
      for (const b of all) outcomes.push(await worker.apply(b));
      await worker.applyAgentEntry(agent);
      assert.deepEqual(outcomes, [
        { applied: 1, errors: 0 },
        { applied: 1, errors: 0 },
        { applied: 3, errors: 1 },
      ]);
      await worker.stop();
      assertLikeDirect(inWorker.path, direct.path, all, (other) => {
        // The malformed message is recorded with the time the stream stored it.
        assert.deepEqual(
          (dumpTable(other, 'projection_errors') as { at: string }[]).map((r) => r.at),
          [new Date(all[2]![3]!.storedAtMs).toISOString()],
        );
        assert.equal(dumpTable(other, 'agents').length, 1);
      });
    } finally {
      await worker.stop();
      inWorker.cleanup();
      direct.cleanup();
    }
  });

  test('batches that queue up are committed together, each answered with its own outcome', async () => {
    const grouped = tempDb();
    const direct = tempDb();
    const worker = new BatchWorker(grouped.path, silentProjectorLogger);
    try {
      await worker.start();
      const all = batches();
      // Sent without waiting: the worker takes what queued behind the first into one transaction.
      const outcomes = await Promise.all([...all.map((b) => worker.apply(b)), worker.applyAgentEntry(agent)]);
      assert.deepEqual(outcomes, [
        { applied: 1, errors: 0 },
        { applied: 1, errors: 0 },
        { applied: 3, errors: 1 },
        undefined,
      ]);
      await worker.stop();
      assertLikeDirect(grouped.path, direct.path, all);
    } finally {
      await worker.stop();
      grouped.cleanup();
      direct.cleanup();
    }
  });

  test('counters are current when the last batch is answered, even with recounts put off', async () => {
    const { path, cleanup } = tempDb();
    const worker = new BatchWorker(path, silentProjectorLogger);
    try {
      await worker.start();
      const pcs = Array.from({ length: 40 }, (_, i) => `pc-${i}`);
      await worker.apply([raw('AUDIT', runStartMessage('BIG', pcs, '2025-01-02T04:00:00.000Z'))]);
      // One execution touched by batch after batch: the worker puts its recount off (100 ms)
      // while batches keep coming, and must make it before it answers the last one.
      for (let i = 0; i < pcs.length; i += 4) {
        await Promise.all(
          pcs
            .slice(i, i + 4)
            .map((pc) => worker.apply([raw('RESULTS', resultMessage({ execId: 'BIG', pcId: pc }))])),
        );
      }
      const db = openProjectionDb(path);
      try {
        assert.deepEqual(db.prepare("SELECT total, ok, status FROM executions WHERE exec_id = 'BIG'").get(), {
          total: 40,
          ok: 40,
          status: 'ok',
        });
      } finally {
        db.close();
      }
    } finally {
      await worker.stop();
      cleanup();
    }
  });

  test('a group that fails is applied unit by unit: only the message that cannot be written is an error', () => {
    const { path, cleanup } = tempDb();
    const db = openProjectionDb(path);
    try {
      const projection = new Projection(db);
      const [start, event, results] = batches() as [RawMessage[], RawMessage[], RawMessage[]];
      const good = results.slice(0, 3);
      // A decoded op whose write throws (too few values for the insert): not a storage error.
      const broken: Op = { k: 'result', row: ['only-an-id'] };
      const outcomes = projection.applyGroup([
        { batch: start, ops: decodeBatch(start) },
        { batch: event, ops: decodeBatch(event) },
        { batch: good, ops: [...decodeBatch(good.slice(0, 2)), broken] },
        { agent },
      ]);
      assert.deepEqual(outcomes, [
        { applied: 1, errors: 0 },
        { applied: 1, errors: 0 },
        { applied: 2, errors: 1 },
        { applied: 1, errors: 0 },
      ]);
      const count = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
      assert.equal(count('SELECT COUNT(*) AS n FROM results'), 2);
      assert.equal(count("SELECT COUNT(*) AS n FROM runs WHERE exec_id = 'E1'"), 4);
      assert.equal(count('SELECT COUNT(*) AS n FROM agents'), 1);
      const errors = dumpTable(db, 'projection_errors') as { seq: number; error: string }[];
      assert.deepEqual(
        errors.map((e) => e.seq),
        [good[2]!.seq],
      );
      assert.match(errors[0]!.error, /parameter/i);
    } finally {
      db.close();
      cleanup();
    }
  });

  test('refuses work once stopped; stop is idempotent', async () => {
    const { path, cleanup } = tempDb();
    const worker = new BatchWorker(path, silentProjectorLogger);
    try {
      await worker.start();
      await worker.stop();
      await worker.stop();
      await assert.rejects(worker.apply(batches()[0]!), BatchApplyError);
      await assert.rejects(worker.applyAgentEntry(agent), BatchApplyError);
    } finally {
      cleanup();
    }
  });
});
