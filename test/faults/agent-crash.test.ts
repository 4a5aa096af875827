// An agent (`baton agent` child) SIGKILLed while a script runs, then restarted: the run is reported
// once as error/agent_restarted and never rerun; a job that declares `retry` runs a second attempt
// instead, and the read model keeps both attempts' results and shows the last one.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  type BatonProcess,
} from '../helpers/faults.js';

describe('fault: agent SIGKILL mid-script', () => {
  let s: TestStack;
  let work: string;
  let projector: BatonProcess;
  let db: string;
  const agents: AgentProcess[] = [];
  before(async () => {
    s = await startStack();
    work = await mkdtemp(join(tmpdir(), 'baton-faults-agent-'));
    db = join(s.dir, 'agent.db');
    projector = spawnProjector(s.server.url, db, 'agent');
  });
  after(async () => {
    for (const a of agents) a.child.kill('SIGKILL');
    await projector.kill();
    await s.stop();
  });

  /** Starts the job on a fresh agent, SIGKILLs the agent once the script runs, starts it again. */
  async function crashDuringRun(pcId: string, jobId: string) {
    const nc = await s.server.connect();
    const dataDir = join(work, pcId);
    const first = spawnAgent(s.server.url, pcId, dataDir);
    agents.push(first);
    await agentReady(first);
    const run = await runJob(nc, jobId, [{ kind: 'pc', pcId }]);
    await waitFor('the script to start', () => existsSync(join(work, `${jobId}.mark`)));
    first.child.kill('SIGKILL');
    await first.exited;
    const second = spawnAgent(s.server.url, pcId, dataDir);
    agents.push(second);
    return { nc, run, second };
  }

  test('no retry declared: one error/agent_restarted result, the script is not run again', async () => {
    const mark = join(work, 'once.mark');
    await putJob(
      await s.server.connect(),
      'once',
      `echo started >> ${mark}\nsleep 30\necho finished >> ${mark}`,
      {
        timeout: '1m',
      },
    );
    const { nc, run, second } = await crashDuringRun('pc-once', 'once');
    await waitFor('the execution to be final', () =>
      sqlValue<string>(db, 'SELECT status FROM executions WHERE exec_id = ?', run.execId) !== 'running'
        ? true
        : undefined,
    { timeoutMs: 30_000 }); // prettier-ignore
    await projectedAll(nc, 'agent', 'the result');

    assert.deepEqual(
      sqlRows(
        db,
        'SELECT pc_id, status, reason, attempt, retry_at FROM results WHERE exec_id = ?',
        run.execId,
      ),
      [{ pc_id: 'pc-once', status: 'error', reason: 'agent_restarted', attempt: 1, retry_at: null }],
    );
    assert.deepEqual(sqlRows(db, 'SELECT state, reason, attempt FROM runs WHERE exec_id = ?', run.execId), [
      { state: 'error', reason: 'agent_restarted', attempt: 1 },
    ]);
    assert.deepEqual(
      sqlRows(
        db,
        'SELECT status, total, error, running, retrying FROM executions WHERE exec_id = ?',
        run.execId,
      ),
      [{ status: 'failed', total: 1, error: 1, running: 0, retrying: 0 }],
    );
    assert.equal(await storedCount(nc, 'RESULTS', `results.*.${run.requestIds[0]}`), 1);
    assert.deepEqual((await readFile(mark, 'utf8')).trim().split('\n'), ['started']);
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0, second.output());
  });

  test('retry: { max: 1, backoff: 1s }: attempt 1 error/agent_restarted, attempt 2 runs to the end', async () => {
    const mark = join(work, 'again.mark');
    const nc0 = await s.server.connect();
    // The first attempt sleeps long (it is killed); the second finds the mark and ends quickly.
    const script = `if [ -f ${mark} ]; then echo second >> ${mark}; echo done; exit 0; fi\necho started >> ${mark}\nsleep 30`;
    await putJob(nc0, 'again', script, { timeout: '1m', extra: 'retry: { max: 1, backoff: 1s }\n' });
    const { nc, run, second } = await crashDuringRun('pc-again', 'again');
    await waitFor('the execution to be final', () =>
      sqlValue<string>(db, 'SELECT status FROM executions WHERE exec_id = ?', run.execId) !== 'running'
        ? true
        : undefined,
    { timeoutMs: 30_000 }); // prettier-ignore
    await projectedAll(nc, 'agent', 'both attempts');

    const results = sqlRows<{ result_id: string; status: string; reason: string | null; attempt: number; retry_at: string | null }>(
      db,
      'SELECT result_id, status, reason, attempt, retry_at FROM results WHERE exec_id = ? ORDER BY attempt',
      run.execId,
    ); // prettier-ignore
    const req = run.requestIds[0]!;
    assert.deepEqual(
      results.map((r) => [r.result_id, r.status, r.reason, r.attempt, r.retry_at !== null]),
      [
        [`${req}.pc-again`, 'error', 'agent_restarted', 1, true],
        [`${req}.pc-again.2`, 'ok', null, 2, false],
      ],
    );
    assert.deepEqual(
      sqlRows(db, 'SELECT state, result_id, attempt, retry_at FROM runs WHERE exec_id = ?', run.execId),
      [{ state: 'ok', result_id: `${req}.pc-again.2`, attempt: 2, retry_at: null }],
    );
    assert.deepEqual(
      sqlRows(db, 'SELECT status, total, ok, error, retrying FROM executions WHERE exec_id = ?', run.execId),
      [{ status: 'ok', total: 1, ok: 1, error: 0, retrying: 0 }],
    );
    assert.equal(await storedCount(nc, 'RESULTS', `results.*.${req}`), 2);
    assert.deepEqual((await readFile(mark, 'utf8')).trim().split('\n'), ['started', 'second']);
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0, second.output());
  });
});
