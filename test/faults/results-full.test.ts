// RESULTS full: the stream refuses new results (here: discard `new` at its max_bytes, what an
// operator who prefers refusing to dropping would configure; JetStream storage exhausted refuses
// the same way). The agent keeps the result in its outbox, reports the condition once
// (outbox_blocked on the timeline and in its log), delivers when space frees (outbox_unblocked),
// and nothing crashes: agent and projector run on.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiscardPolicy, jetstreamManager } from '@nats-io/jetstream';
import { agentReady, runJob, spawnAgent, type AgentProcess } from '../helpers/fleet.js';
import { putJob } from '../helpers/jobs.js';
import { startStack, type TestStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';
import {
  projectedAll,
  spawnProjector,
  sqlRows,
  sqlValue,
  storedCount,
  trySqlValue,
  type BatonProcess,
} from '../helpers/faults.js';

describe('fault: RESULTS full', () => {
  let s: TestStack;
  let projector: BatonProcess;
  let agent: AgentProcess | undefined;
  before(async () => {
    s = await startStack();
  });
  after(async () => {
    agent?.child.kill('SIGKILL');
    await projector.kill();
    await s.stop();
  });

  test('results wait in the outbox, the condition is reported, delivery resumes when space frees', async () => {
    const db = join(s.dir, 'full.db');
    projector = spawnProjector(s.server.url, db, 'full');
    const nc = await s.server.connect();
    const jsm = await jetstreamManager(nc);
    await putJob(nc, 'hello', 'echo hello');
    const dataDir = await mkdtemp(join(tmpdir(), 'baton-faults-full-'));
    agent = spawnAgent(s.server.url, 'pc-full', dataDir);
    await agentReady(agent);
    const firstRun = await runJob(nc, 'hello', [{ kind: 'pc', pcId: 'pc-full' }]);
    await waitFor('the first result', () => trySqlValue(db, 'SELECT COUNT(*) FROM results') === 1);

    // Full: the stream holds what it holds and refuses anything more.
    const original = (await jsm.streams.info('RESULTS')).config;
    const used = (await jsm.streams.info('RESULTS')).state.bytes;
    await jsm.streams.update('RESULTS', { ...original, discard: DiscardPolicy.New, max_bytes: used });

    const blockedRun = await runJob(nc, 'hello', [{ kind: 'pc', pcId: 'pc-full' }]);
    await waitFor(
      'the agent to report the blocked outbox on its timeline',
      () => trySqlValue(db, "SELECT COUNT(*) FROM obs_events WHERE pc_id = 'pc-full' AND kind = 'outbox_blocked'") === 1,
      { timeoutMs: 30_000, intervalMs: 100 },
    ); // prettier-ignore
    const outbox = join(dataDir, 'outbox');
    assert.deepEqual(
      readdirSync(outbox).filter((f) => f.endsWith('.json')),
      [`${blockedRun.requestIds[0]}.pc-full.json`],
      'the result waits in the outbox',
    );
    assert.deepEqual(readdirSync(join(outbox, 'quarantine')), [], 'a full stream is not a reason to give up');
    const payload = JSON.parse(
      sqlValue<string>(
        db,
        "SELECT payload FROM obs_events WHERE pc_id = 'pc-full' AND kind = 'outbox_blocked'",
      ),
    ) as { reason: string; error: string; pending: number };
    assert.equal(payload.reason, 'storage_full');
    assert.match(payload.error, /maximum bytes exceeded/i);
    assert.equal(payload.pending, 1);
    assert.equal(
      sqlValue<string>(db, 'SELECT state FROM runs WHERE exec_id = ?', blockedRun.execId),
      'running',
      'the read model still shows the run in flight, not lost',
    );
    assert.match(agent.output(), /results refused by JetStream storage; kept in the outbox/);
    assert.equal(agent.child.exitCode, null, 'the agent is still running');
    assert.equal(projector.child.exitCode, null, 'the projector is still running');

    // Space frees (the operator raises the limit): the outbox delivers, once.
    await jsm.streams.update('RESULTS', original);
    await waitFor(
      'the blocked result to be projected',
      () => trySqlValue(db, 'SELECT COUNT(*) FROM results') === 2,
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    await waitFor('outbox_unblocked', () =>
      trySqlValue(db, "SELECT COUNT(*) FROM obs_events WHERE pc_id = 'pc-full' AND kind = 'outbox_unblocked'") === 1,
    ); // prettier-ignore
    await projectedAll(nc, 'full', 'everything');

    assert.deepEqual(
      sqlRows(
        db,
        'SELECT r.state, e.status FROM runs r JOIN executions e USING (exec_id) ORDER BY e.started_at',
      ),
      [
        { state: 'ok', status: 'ok' },
        { state: 'ok', status: 'ok' },
      ],
    );
    assert.equal(await storedCount(nc, 'RESULTS', `results.pc-full.${blockedRun.requestIds[0]}`), 1);
    assert.equal(await storedCount(nc, 'RESULTS', `results.pc-full.${firstRun.requestIds[0]}`), 1);
    assert.deepEqual(
      readdirSync(outbox).filter((f) => f.endsWith('.json')),
      [],
    );
    agent.child.kill('SIGTERM');
    assert.equal(await agent.exited, 0, agent.output());
    assert.equal(projector.child.exitCode, null);
  });
});
