// Faults on the run path with real processes: the agent is a `baton agent` child killed with
// SIGKILL, the broker a real nats-server killed and restarted on the same port and store.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { AgentDirectory } from '../../src/kv/index.js';
import { inlineOutputBytes } from '../../src/wire/index.js';
import {
  agentReady,
  collectResults,
  runJob,
  spawnAgent,
  startAgent,
  type AgentProcess,
} from '../helpers/fleet.js';
import { putJob } from '../helpers/jobs.js';
import { startStack, type TestStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

/** How many results the RESULTS stream holds for one request (duplicates would show here). */
async function storedResults(nc: NatsConnection, requestId: string): Promise<number> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info('RESULTS', { subjects_filter: `results.*.${requestId}` });
  return Object.values(info.state.subjects ?? {}).reduce((a, n) => a + n, 0);
}

async function killHard(p: AgentProcess): Promise<void> {
  p.child.kill('SIGKILL');
  await p.exited;
}

describe('the run path under faults', () => {
  let s: TestStack;
  let work: string;
  const children: AgentProcess[] = [];
  before(async () => {
    s = await startStack();
    work = await mkdtemp(join(tmpdir(), 'baton-faults-'));
  });
  after(async () => {
    for (const c of children) c.child.kill('SIGKILL');
    await s.stop();
  });

  test('agent SIGKILLed mid-script: one error/agent_restarted result after restart, no rerun', async () => {
    const nc = await s.server.connect();
    const mark = join(work, 'crash.mark');
    await putJob(nc, 'slow', `echo started >> ${mark}\nsleep 30\necho finished >> ${mark}`, {
      timeout: '1m',
    });
    const dataDir = join(work, 'agent-crash');
    const first = spawnAgent(s.server.url, 'pc-crash', dataDir);
    children.push(first);
    await agentReady(first);
    const run = await runJob(nc, 'slow', [{ kind: 'pc', pcId: 'pc-crash' }]);
    await waitFor('the script to start', () => existsSync(mark));
    await killHard(first);

    const second = spawnAgent(s.server.url, 'pc-crash', dataDir);
    children.push(second);
    const [r] = await collectResults(nc, run.requestIds, 1);
    assert.equal(r?.status, 'error');
    assert.equal(r.reason, 'agent_restarted');
    assert.equal(await storedResults(nc, run.requestIds[0]!), 1);
    // Not rerun: the script started once, and the orphan of the dead agent was ended.
    assert.deepEqual((await readFile(mark, 'utf8')).trim().split('\n'), ['started']);
    second.child.kill('SIGTERM');
    await second.exited;
  });

  test('agent SIGKILLed between the end of a run and the publish: the outbox delivers it once', async () => {
    const nc = await s.server.connect();
    await putJob(nc, 'quick', 'sleep 1\necho done');
    const dataDir = join(work, 'agent-outbox');
    const first = spawnAgent(s.server.url, 'pc-outbox', dataDir);
    children.push(first);
    await agentReady(first);
    const run = await runJob(nc, 'quick', [{ kind: 'pc', pcId: 'pc-outbox' }]);
    await waitFor('the script to start', () => existsSync(join(dataDir, 'work', run.requestIds[0]!)));
    await s.server.kill(); // the result cannot be published now
    const outbox = join(dataDir, 'outbox');
    await waitFor('the result to be in the outbox', () =>
      readdirSync(outbox).some((f) => f.endsWith('.json')),
    );
    await killHard(first);
    await s.server.start();

    const second = spawnAgent(s.server.url, 'pc-outbox', dataDir);
    children.push(second);
    const nc2 = await s.server.connect();
    const [r] = await collectResults(nc2, run.requestIds, 1);
    assert.equal(r?.status, 'ok');
    assert.equal(Buffer.from(inlineOutputBytes(r.stdout)!).toString(), 'done\n');
    await waitFor('the outbox to empty', () => !readdirSync(outbox).some((f) => f.endsWith('.json')));
    assert.equal(await storedResults(nc2, run.requestIds[0]!), 1);
    second.child.kill('SIGTERM');
    await second.exited;
  });

  test('broker restarted during a run: the result still arrives, once', async () => {
    const nc = await s.server.connect();
    await putJob(nc, 'through-restart', 'sleep 2\necho survived');
    const dataDir = join(work, 'agent-broker');
    const agent = spawnAgent(s.server.url, 'pc-broker', dataDir);
    children.push(agent);
    await agentReady(agent);
    const run = await runJob(nc, 'through-restart', [{ kind: 'pc', pcId: 'pc-broker' }]);
    await waitFor('the script to start', () => existsSync(join(dataDir, 'work', run.requestIds[0]!)));
    await s.server.restart('SIGKILL');
    const nc2 = await s.server.connect();
    const [r] = await collectResults(nc2, run.requestIds, 1, 30_000);
    assert.equal(r?.status, 'ok');
    assert.equal(Buffer.from(inlineOutputBytes(r.stdout)!).toString(), 'survived\n');
    assert.equal(await storedResults(nc2, run.requestIds[0]!), 1);
    agent.child.kill('SIGTERM');
    assert.equal(await agent.exited, 0, agent.output());
  });

  test('overlap skip: a second run of the same job on a busy pc is skipped, not run alongside', async () => {
    const nc = await s.server.connect();
    await putJob(nc, 'exclusive', 'sleep 3\necho once', { timeout: '1m' });
    const agent = await startAgent(s.server.url, 'pc-overlap');
    try {
      const first = await runJob(nc, 'exclusive', [{ kind: 'pc', pcId: 'pc-overlap' }], { overlap: 'skip' });
      const dir = await AgentDirectory.open(nc);
      await waitFor('the first run to be running', async () => {
        const me = (await dir.list()).agents.find((a) => a.pcId === 'pc-overlap');
        return (
          me?.running.some((r) => r.execId === first.execId) ||
          existsSync(join(agent.dataDir, 'work', first.requestIds[0]!))
        );
      });
      const second = await runJob(nc, 'exclusive', [{ kind: 'pc', pcId: 'pc-overlap' }], { overlap: 'skip' });
      const [skipped] = await collectResults(nc, second.requestIds, 1);
      assert.deepEqual([skipped?.status, skipped?.reason], ['skipped', 'already_running']);
      const [ran] = await collectResults(nc, first.requestIds, 1);
      assert.equal(ran?.status, 'ok');
    } finally {
      await agent.stop();
    }
  });
});
