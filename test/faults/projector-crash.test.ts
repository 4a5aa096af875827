// The projector (`baton projector` child) SIGKILLed mid-batch while agents deliver 1,000 results,
// then restarted on the same SQLite file: exactly the rows of the results, events and receipts,
// and the same read model a clean projector builds from the streams.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runJob } from '../helpers/fleet.js';
import { putJob } from '../helpers/jobs.js';
import { startStack, type TestStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';
import {
  dumpTables,
  projectedAll,
  spawnProjector,
  sqlRows,
  sqlValue,
  startSimFleet,
  trySqlValue,
  type BatonProcess,
  type SimFleet,
} from '../helpers/faults.js';

const AGENTS = 100;
const EXECUTIONS = 10;
const N = AGENTS * EXECUTIONS;

describe('fault: projector SIGKILL mid-batch', () => {
  let s: TestStack;
  let fleet: SimFleet | undefined;
  const procs: BatonProcess[] = [];
  before(async () => {
    s = await startStack();
  });
  after(async () => {
    await fleet?.stop();
    for (const p of procs) await p.kill();
    await s.stop();
  });

  test(`${N} results, projector killed mid-batch and restarted: exact rows`, async () => {
    const db = join(s.dir, 'killed.db');
    const nc = await s.server.connect();
    await putJob(nc, 'burst', 'true');
    fleet = await startSimFleet(s.server.url, AGENTS, 30);
    const first = spawnProjector(s.server.url, db, 'killed');
    procs.push(first);
    const execs: Awaited<ReturnType<typeof runJob>>[] = [];
    for (let i = 0; i < EXECUTIONS; i++) execs.push(await runJob(nc, 'burst', [{ kind: 'all' }]));
    await waitFor('a first batch to be committed', () => (trySqlValue(db, 'SELECT COUNT(*) FROM results') ?? 0) > 0, {
      timeoutMs: 60_000,
      intervalMs: 5,
    }); // prettier-ignore
    await first.kill();
    const atKill = sqlValue(db, 'SELECT COUNT(*) FROM results');
    assert.ok(atKill < N, `killed mid-stream (${atKill} of ${N} committed)`);

    const second = spawnProjector(s.server.url, db, 'killed');
    procs.push(second);
    await waitFor('every result', () => sqlValue(db, 'SELECT COUNT(*) FROM results') === N, {
      timeoutMs: 120_000,
      intervalMs: 250,
    });
    await projectedAll(nc, 'killed', 'everything');
    assert.equal(await second.stop(), 0, second.output());

    assert.equal(sqlValue(db, 'SELECT COUNT(*) FROM results'), N);
    // Each request ran once on each pc: no redelivery made an agent run it again.
    assert.equal(fleet.executions.size, N);
    assert.deepEqual(new Set(fleet.executions.values()), new Set([1]));
    assert.equal(sqlValue(db, "SELECT COUNT(*) FROM runs WHERE state = 'ok'"), N);
    assert.equal(sqlValue(db, "SELECT COUNT(*) FROM run_events WHERE kind = 'started'"), N);
    assert.equal(sqlValue(db, "SELECT COUNT(*) FROM run_events WHERE kind = 'accepted'"), N);
    assert.equal(sqlValue(db, "SELECT COUNT(*) FROM audit WHERE action = 'run.start'"), EXECUTIONS);
    assert.deepEqual(
      sqlRows(db, 'SELECT exec_id, status, total, ok FROM executions ORDER BY exec_id'),
      execs
        .map((e) => ({ exec_id: e.execId, status: 'ok', total: AGENTS, ok: AGENTS }))
        .sort((x, y) => x.exec_id.localeCompare(y.exec_id)),
    );

    // A projector that was never killed, replaying the same streams, builds the same rows.
    const clean = join(s.dir, 'clean.db');
    const third = spawnProjector(s.server.url, clean, 'clean');
    procs.push(third);
    await waitFor('the clean projection', () => trySqlValue(clean, 'SELECT COUNT(*) FROM results') === N, {
      timeoutMs: 120_000,
      intervalMs: 250,
    });
    await projectedAll(nc, 'clean', 'everything');
    assert.equal(await third.stop(), 0, third.output());
    const tables = ['executions', 'runs', 'results', 'run_events', 'audit', 'projection_errors'] as const;
    assert.deepEqual(dumpTables(db, tables), dumpTables(clean, tables));
  });
});
