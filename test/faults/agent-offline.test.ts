// An agent offline while three runs are started, back after the deadline of one of them passed:
// the two still valid run (it catches up from its durable consumer), the third is `expired`,
// first by the projector's sweep (the agent never came back before the deadline), and it stays
// expired when the agent comes back and answers skipped/deadline_passed. Every execution is final.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentReady, runJob, spawnAgent, type AgentProcess } from '../helpers/fleet.js';
import { putJob } from '../helpers/jobs.js';
import { startStack, type TestStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';
import { projectedAll, spawnProjector, sqlRows, sqlValue, type BatonProcess } from '../helpers/faults.js';

describe('fault: agent offline across a deadline', () => {
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

  test('three runs while offline, back after one deadline: two ok, one expired', async () => {
    const db = join(s.dir, 'offline.db');
    projector = spawnProjector(s.server.url, db, 'offline');
    const nc = await s.server.connect();
    await putJob(nc, 'report', 'echo reported');
    const dataDir = await mkdtemp(join(tmpdir(), 'baton-faults-offline-'));
    // The agent's first start creates its durable consumer; then it goes away.
    const first = spawnAgent(s.server.url, 'pc-away', dataDir);
    await agentReady(first);
    first.child.kill('SIGTERM');
    assert.equal(await first.exited, 0, first.output());

    const target = [{ kind: 'pc' as const, pcId: 'pc-away' }];
    const a = await runJob(nc, 'report', target, { deadlineMs: 3_600_000 });
    const short = await runJob(nc, 'report', target, { deadlineMs: 2_000 });
    const b = await runJob(nc, 'report', target, { deadlineMs: 3_600_000 });

    // The projector's sweep (every 5 s) expires the run nobody picked up before its deadline.
    const execState = (execId: string) =>
      sqlRows<{ status: string; state: string }>(
        db,
        'SELECT e.status, r.state FROM executions e JOIN runs r USING (exec_id) WHERE exec_id = ?',
        execId,
      )[0];
    await waitFor('the short run to expire while the agent is away', () => execState(short.execId)?.state === 'expired', {
      timeoutMs: 30_000,
      intervalMs: 200,
    }); // prettier-ignore
    assert.equal(execState(short.execId)?.status, 'failed', 'an expired run makes its execution final');
    assert.equal(execState(a.execId)?.state, 'queued');

    agent = spawnAgent(s.server.url, 'pc-away', dataDir);
    await waitFor(
      'all three executions to be final',
      () =>
        [a, short, b].every((e) => execState(e.execId)?.status !== 'running') &&
        sqlValue(db, 'SELECT COUNT(*) FROM results') === 3,
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    await projectedAll(nc, 'offline', 'the late answers');

    assert.deepEqual(
      [a, short, b].map((e) =>
        sqlRows(db, 'SELECT r.state, r.status, r.reason, e.status AS execution, e.ok, e.expired FROM runs r JOIN executions e USING (exec_id) WHERE exec_id = ?', e.execId)[0],
      ),
      [
        { state: 'ok', status: 'ok', reason: null, execution: 'ok', ok: 1, expired: 0 },
        // The agent's late answer confirms it: never started, after the deadline.
        { state: 'expired', status: 'skipped', reason: 'deadline_passed', execution: 'failed', ok: 0, expired: 1 },
        { state: 'ok', status: 'ok', reason: null, execution: 'ok', ok: 1, expired: 0 },
      ],
    ); // prettier-ignore
    assert.deepEqual(
      sqlRows(db, "SELECT exec_id FROM run_events WHERE kind = 'started' ORDER BY exec_id").map(
        (r) => r['exec_id'],
      ),
      [a.execId, b.execId].sort(),
      'only the two valid runs started',
    );
    agent.child.kill('SIGTERM');
    assert.equal(await agent.exited, 0, agent.output());
  });
});
