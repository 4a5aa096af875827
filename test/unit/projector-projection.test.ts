// The projection over a real SQLite file, without NATS: idempotence, order independence, the run
// lifecycle, expiry, output groups and the error table.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  PROJECTION_TABLES,
  Projection,
  ReadModel,
  dumpTable,
  openProjectionDb,
  type Db,
  type ProjectedStream,
  type RawMessage,
} from '../../src/projector/index.js';
import {
  resultMessage,
  runEventMessage,
  runStartMessage,
  type Published,
} from '../helpers/projector-fixtures.js';

const DEADLINE = '2025-01-02T04:00:00.000Z';

function withDb(fn: (db: Db, projection: Projection, path: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'baton-proj-'));
  const path = join(dir, 'baton.db');
  const db = openProjectionDb(path);
  try {
    fn(db, new Projection(db), path);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

let seq = 0;
const raw = (stream: ProjectedStream, p: Published): RawMessage => ({
  stream,
  seq: ++seq,
  subject: p.subject,
  data: p.data,
  storedAtMs: Date.parse('2025-01-02T03:00:00.000Z'),
});

function scenario(): RawMessage[] {
  return [
    raw('AUDIT', runStartMessage('E1', ['pc-a', 'pc-b', 'pc-c', 'pc-d'], DEADLINE)),
    raw('EVENTS', runEventMessage('E1', 'pc-a', 'accepted')),
    raw('EVENTS', runEventMessage('E1', 'pc-a', 'started')),
    raw('RESULTS', resultMessage({ execId: 'E1', pcId: 'pc-a', stdout: 'same\n' })),
    raw('RESULTS', resultMessage({ execId: 'E1', pcId: 'pc-b', stdout: 'same\n' })),
    raw(
      'RESULTS',
      resultMessage({ execId: 'E1', pcId: 'pc-c', status: 'failed', exitCode: 2, stdout: 'other\n' }),
    ),
    raw('EVENTS', runEventMessage('E1', 'pc-d', 'accepted')),
  ];
}

function dumpAll(db: Db) {
  return Object.fromEntries(PROJECTION_TABLES.map((t) => [t, dumpTable(db, t)]));
}

describe('projection (real SQLite)', () => {
  test('counters are derived: duplicates and redeliveries change nothing', () => {
    withDb((db, p) => {
      const msgs = scenario();
      p.applyBatch(msgs);
      const once = dumpAll(db);
      p.applyBatch(msgs); // redelivered batch
      for (const m of msgs) p.applyBatch([{ ...m, seq: m.seq + 1000 }]); // duplicates at other seqs
      assert.deepEqual(dumpAll(db), once);
      const e = db.prepare('SELECT total, ok, failed, delivered, queued, status FROM executions').get();
      assert.deepEqual(e, { total: 4, ok: 2, failed: 1, delivered: 1, queued: 0, status: 'running' });
    });
  });

  test('recounts put off (recountEveryMs) catch up on flushRecounts; recountOpen repairs counters left behind', () => {
    withDb((db) => {
      const p = new Projection(db, { recountEveryMs: 60_000 });
      const counts = () => db.prepare('SELECT total, ok, failed, delivered, status FROM executions').get();
      const [start, ...rest] = scenario();
      p.applyBatch([start!]); // first touch: recounted at once
      for (const m of rest) p.applyBatch([m]); // within the minute: put off
      assert.deepEqual(counts(), { total: 4, ok: 0, failed: 0, delivered: 0, status: 'running' });
      assert.equal(p.recountsDue, true);
      assert.equal(p.flushRecounts(), 1);
      assert.equal(p.recountsDue, false);
      assert.deepEqual(counts(), { total: 4, ok: 2, failed: 1, delivered: 1, status: 'running' });

      // A projector that stopped with a recount due: the next start recounts what is still open.
      p.applyBatch([raw('RESULTS', resultMessage({ execId: 'E1', pcId: 'pc-d' }))]);
      assert.equal(p.recountsDue, true);
      assert.equal(new Projection(db).recountOpen(), 1);
      assert.deepEqual(counts(), { total: 4, ok: 3, failed: 1, delivered: 0, status: 'failed' });
    });
  });

  test('a projection that recounts at most every 100 ms forgets older recount times (bounded memory)', () => {
    withDb((db) => {
      let clock = 0;
      const p = new Projection(db, { recountEveryMs: 100, now: () => clock });
      for (let i = 0; i < 50; i++) {
        p.applyBatch([raw('AUDIT', runStartMessage(`M${i}`, ['pc-a'], DEADLINE))]);
      }
      assert.equal(p.recountsRemembered, 50);
      clock = 99;
      assert.equal(p.flushRecounts(), 0);
      assert.equal(p.recountsRemembered, 50);
      clock = 100;
      assert.equal(p.flushRecounts(), 0);
      assert.equal(p.recountsRemembered, 0);
    });
  });

  test('any arrival order gives the same rows', () => {
    const forward = scenario();
    let a: unknown;
    let b: unknown;
    withDb((db, p) => {
      for (const m of forward) p.applyBatch([m]);
      a = dumpAll(db);
    });
    withDb((db, p) => {
      p.applyBatch([...forward].reverse());
      b = dumpAll(db);
    });
    assert.deepEqual(b, a);
  });

  test('results before the run.start receipt make a placeholder that the receipt completes', () => {
    withDb((db, p) => {
      p.applyBatch([raw('RESULTS', resultMessage({ execId: 'E2', pcId: 'pc-a' }))]);
      const rm = ReadModel.open(db.name);
      try {
        assert.equal(rm.runs.get('E2')?.announced, false);
        assert.equal(rm.runs.get('E2')?.status, 'running');
        p.applyBatch([raw('AUDIT', runStartMessage('E2', ['pc-a'], DEADLINE))]);
        const e = rm.runs.get('E2');
        assert.equal(e?.announced, true);
        assert.equal(e?.status, 'ok');
        assert.equal(e?.expected, 1);
        assert.ok(e?.finishedAt);
      } finally {
        rm.close();
      }
    });
  });

  test('expected pcs with no sign of life expire after the deadline; a late result still wins', () => {
    withDb((db, p) => {
      p.applyBatch(scenario());
      // Every expected pc of E1 showed a sign of life: nothing expires.
      assert.equal(p.sweepExpired(Date.parse(DEADLINE) + 1), 0);
      const rm = ReadModel.open(db.name);
      try {
        const runs = Object.fromEntries(rm.runs.runs('E1').map((r) => [r.pcId, r.state]));
        assert.deepEqual(runs, { 'pc-a': 'ok', 'pc-b': 'ok', 'pc-c': 'failed', 'pc-d': 'delivered' });
        // pc-d was delivered: not expired. Add an expected pc that never answered.
        p.applyBatch([raw('AUDIT', runStartMessage('E3', ['pc-x', 'pc-y'], DEADLINE))]);
        p.applyBatch([raw('RESULTS', resultMessage({ execId: 'E3', pcId: 'pc-x' }))]);
        assert.equal(p.sweepExpired(Date.parse(DEADLINE) - 1), 0);
        assert.equal(p.sweepExpired(Date.parse(DEADLINE) + 1), 1);
        const e3 = rm.runs.get('E3')!;
        assert.equal(e3.counts.expired, 1);
        assert.equal(e3.status, 'failed');
        assert.equal(e3.finishedAt, DEADLINE);
        p.applyBatch([raw('RESULTS', resultMessage({ execId: 'E3', pcId: 'pc-y' }))]);
        const late = rm.runs.get('E3')!;
        assert.equal(late.counts.expired, 0);
        assert.equal(late.status, 'ok');
      } finally {
        rm.close();
      }
    });
  });

  test('attempts of a retried run: one row each, the run shows the latest, retrying is not final', () => {
    withDb((db, p) => {
      const first = resultMessage({
        execId: 'R',
        pcId: 'pc-a',
        status: 'failed',
        exitCode: 1,
        attempt: 1,
        retryAt: '2025-01-02T03:05:00.000Z',
      });
      const second = resultMessage({
        execId: 'R',
        pcId: 'pc-a',
        status: 'ok',
        attempt: 2,
        stdout: 'second\n',
      });
      const start = runStartMessage('R', ['pc-a', 'pc-b'], DEADLINE);
      const late = resultMessage({
        execId: 'R',
        pcId: 'pc-b',
        status: 'skipped',
        exitCode: null,
        reason: 'deadline_passed',
      });
      p.applyBatch([raw('AUDIT', start), raw('RESULTS', first), raw('RESULTS', late)]);
      const rm = ReadModel.open(db.name);
      try {
        const states = () => rm.runs.runs('R').map((r) => [r.pcId, r.state, r.attempt]);
        assert.deepEqual(states(), [
          ['pc-a', 'retrying', 1],
          ['pc-b', 'expired', 1],
        ]);
        assert.equal(rm.runs.get('R')!.status, 'running', 'a retrying run keeps its execution open');
        assert.equal(rm.runs.get('R')!.counts.retrying, 1);
        // The second attempt, and then the first again (a redelivery): the latest attempt wins.
        p.applyBatch([raw('RESULTS', second), raw('RESULTS', first)]);
        assert.deepEqual(states(), [
          ['pc-a', 'ok', 2],
          ['pc-b', 'expired', 1],
        ]);
        const e = rm.runs.get('R')!;
        assert.deepEqual([e.status, e.counts.ok, e.counts.expired, e.counts.retrying], ['failed', 1, 1, 0]);
        assert.equal(
          (db.prepare("SELECT COUNT(*) AS n FROM results WHERE exec_id = 'R'").get() as { n: number }).n,
          3,
        );
        assert.deepEqual(rm.results.get(`R-0.pc-a.2`)?.attempt, 2);
        // Output groups count final results only (the retried attempt 1 is left out).
        assert.deepEqual(
          rm.runs.outputGroups('R').map((g) => [g.status, g.pcs]),
          [
            ['ok', ['pc-a']],
            ['skipped', ['pc-b']],
          ],
        );
      } finally {
        rm.close();
      }
    });
  });

  test('a run still retrying when the deadline passed expires; a later attempt wins', () => {
    withDb((db, p) => {
      const retrying = resultMessage({
        execId: 'X',
        pcId: 'pc-a',
        status: 'error',
        exitCode: null,
        reason: 'agent_restarted',
        attempt: 1,
        retryAt: '2025-01-02T03:59:00.000Z',
      });
      p.applyBatch([raw('AUDIT', runStartMessage('X', ['pc-a'], DEADLINE)), raw('RESULTS', retrying)]);
      assert.equal(p.sweepExpired(Date.parse(DEADLINE) - 1), 0);
      assert.equal(p.sweepExpired(Date.parse(DEADLINE) + 1), 1);
      const rm = ReadModel.open(db.name);
      try {
        assert.deepEqual([rm.runs.runs('X')[0]?.state, rm.runs.get('X')?.status], ['expired', 'failed']);
        p.applyBatch([raw('RESULTS', resultMessage({ execId: 'X', pcId: 'pc-a', attempt: 2 }))]);
        assert.deepEqual([rm.runs.runs('X')[0]?.state, rm.runs.get('X')?.status], ['ok', 'ok']);
      } finally {
        rm.close();
      }
    });
  });

  test('identical outputs are grouped per execution', () => {
    withDb((db, p) => {
      p.applyBatch(scenario());
      const rm = ReadModel.open(db.name);
      try {
        const groups = rm.runs.outputGroups('E1');
        assert.deepEqual(
          groups.map((g) => [g.count, g.status, g.exitCode, g.pcs]),
          [
            [2, 'ok', 0, ['pc-a', 'pc-b']],
            [1, 'failed', 2, ['pc-c']],
          ],
        );
      } finally {
        rm.close();
      }
    });
  });

  test('malformed messages become error rows and the rest of the batch is applied', () => {
    withDb((db, p) => {
      const good = raw('RESULTS', resultMessage({ execId: 'E4', pcId: 'pc-a' }));
      const out = p.applyBatch([
        { ...good, seq: 900, data: new TextEncoder().encode('{not json') },
        { ...good, seq: 901, subject: 'results.pc-b.E4-0' }, // subject names another pc
        { ...good, seq: 902, subject: 'results.garbage' },
        good,
      ]);
      assert.deepEqual(out, { applied: 1, errors: 3 });
      const errors = db
        .prepare('SELECT seq, subject, error, raw FROM projection_errors ORDER BY seq')
        .all() as {
        seq: number;
        error: string;
        raw: string;
      }[];
      assert.deepEqual(
        errors.map((e) => e.seq),
        [900, 901, 902],
      );
      assert.match(errors[0]!.error, /JSON/i);
      assert.equal(errors[0]!.raw, '{not json');
      assert.match(errors[1]!.error, /does not match/);
      assert.equal((db.prepare('SELECT COUNT(*) AS n FROM results').get() as { n: number }).n, 1);
    });
  });
});
