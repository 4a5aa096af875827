// nats-server SIGKILLed during a burst of 1,000 results and restarted on the same port and store:
// agents keep undelivered results in their outboxes and publish them again (deduplicated by result
// id), the projector (a `baton projector` child) reconnects, and every result is projected once.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { putJob } from '../helpers/jobs.js';
import { runJob } from '../helpers/fleet.js';
import { startStack, type TestStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';
import {
  projectedAll,
  spawnProjector,
  sqlRows,
  sqlValue,
  startSimFleet,
  storedCount,
  trySqlValue,
  type BatonProcess,
  type SimFleet,
} from '../helpers/faults.js';

const AGENTS = 100;
const EXECUTIONS = 10;
const N = AGENTS * EXECUTIONS;

describe('fault: broker SIGKILL during a burst of results', () => {
  let s: TestStack;
  let fleet: SimFleet | undefined;
  let projector: BatonProcess | undefined;
  before(async () => {
    s = await startStack();
  });
  after(async () => {
    await fleet?.stop();
    await projector?.kill();
    await s.stop();
  });

  test(`${N} results, broker killed mid-burst and restarted: every result projected exactly once`, async () => {
    const db = join(s.dir, 'burst.db');
    const nc = await s.server.connect();
    await putJob(nc, 'burst', 'true');
    fleet = await startSimFleet(s.server.url, AGENTS, 30);
    projector = spawnProjector(s.server.url, db, 'burst');
    const execs: Awaited<ReturnType<typeof runJob>>[] = [];
    for (let i = 0; i < EXECUTIONS; i++) execs.push(await runJob(nc, 'burst', [{ kind: 'all' }]));

    await waitFor(
      'the burst to be under way (some results projected)',
      () => (trySqlValue(db, 'SELECT COUNT(*) FROM results') ?? 0) >= 50,
      { timeoutMs: 60_000, intervalMs: 10 },
    );
    const before = sqlValue(db, 'SELECT COUNT(*) FROM results');
    await s.server.restart('SIGKILL');
    const nc2 = await s.server.connect('after-restart');

    await waitFor(
      `all ${N} results to be projected`,
      () => (trySqlValue(db, 'SELECT COUNT(*) FROM results') ?? 0) >= N,
      { timeoutMs: 120_000, intervalMs: 250 },
    ).catch(async (err: unknown) => {
      const stored = await storedCount(nc2, 'RESULTS', 'results.>');
      const projected = trySqlValue(db, 'SELECT COUNT(*) FROM results');
      throw new Error(
        `${(err as Error).message}: ${stored} in RESULTS, ${projected} projected; agents logged ${JSON.stringify(fleet!.errors.slice(0, 5))}; projector: ${projector!.output().slice(-2000)}`,
      );
    });
    await projectedAll(nc2, 'burst', 'everything');
    assert.ok(before < N, `the broker was killed mid-burst (${before} of ${N} projected before)`);

    assert.equal(sqlValue(db, 'SELECT COUNT(*) FROM results'), N);
    // Each request ran once on each pc: no redelivery made an agent run it again.
    assert.equal(fleet.executions.size, N);
    assert.deepEqual(new Set(fleet.executions.values()), new Set([1]));
    assert.equal(sqlValue(db, 'SELECT COUNT(DISTINCT request_id || pc_id) FROM results'), N);
    assert.equal(sqlValue(db, "SELECT COUNT(*) FROM runs WHERE state = 'ok'"), N);
    assert.equal(sqlValue(db, 'SELECT COUNT(*) FROM runs'), N);
    const executions = sqlRows<{ exec_id: string; status: string; total: number; ok: number }>(
      db,
      'SELECT exec_id, status, total, ok FROM executions ORDER BY exec_id',
    );
    assert.deepEqual(
      executions,
      execs
        .map((e) => ({ exec_id: e.execId, status: 'ok', total: AGENTS, ok: AGENTS }))
        .sort((a, b) => a.exec_id.localeCompare(b.exec_id)),
    );
    // Retried publishes were deduplicated by JetStream too: the stream holds each result once.
    assert.equal(await storedCount(nc2, 'RESULTS', 'results.>'), N);
    assert.equal(sqlValue(db, 'SELECT COUNT(*) FROM projection_errors'), 0);
    assert.equal(projector.child.exitCode, null, 'the projector survived the broker crash');
  });
});
