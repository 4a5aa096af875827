// The agent keeps the skip checks' catalog values (script_status, script_current) between runs
// and forgets them when they change: a job revoked, re-activated, re-pinned or whose status key
// is deleted after it ran on a live agent is checked against the new value at its next run. An agent whose credentials predate
// the change subscriptions reads both values from the server for every run, with the same result.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { Agent } from '../../src/agent/index.js';
import { BUCKETS, JobStore, agentPermissions, startExecution, type JobRecord } from '../../src/kv/index.js';
import { silentLogger, type Logger } from '../../src/shared/logger.js';
import { collectResults, startAgent } from '../helpers/fleet.js';
import { putJob } from '../helpers/jobs.js';
import { startSecureStack } from '../helpers/secure-stack.js';
import { startStack, type TestStack } from '../helpers/stack.js';

/** Runs `job` (as stored, possibly an older version than the pin) on `pcId`; its result's status and reason. */
async function outcome(nc: NatsConnection, job: JobRecord, pcId: string): Promise<string> {
  const run = await startExecution(nc, {
    job,
    targets: [{ kind: 'pc', pcId }],
    trigger: { kind: 'adhoc', actor: 'test' },
    actor: { kind: 'user', name: 'test' },
    source: { via: 'cli' },
  });
  const [r] = await collectResults(nc, run.requestIds, 1);
  return [r!.status, r!.reason].filter(Boolean).join('/');
}

/** What a live agent sees run after run while the job changes between runs. */
async function changesBetweenRuns(nc: NatsConnection, pcId: string, jobId: string): Promise<string[]> {
  const jobs = await JobStore.open(nc);
  await putJob(nc, jobId, 'echo v1', { version: '1' });
  const v1 = await jobs.require(jobId);
  const seen = [await outcome(nc, v1, pcId)]; // the agent now knows ACTIVE and pin 1
  await jobs.setStatus(jobId, 'REVOKED');
  seen.push(await outcome(nc, v1, pcId));
  await jobs.setStatus(jobId, 'ACTIVE');
  seen.push(await outcome(nc, v1, pcId));
  await putJob(nc, jobId, 'echo v2', { version: '2' });
  seen.push(await outcome(nc, v1, pcId)); // a request for version 1, published after the re-pin
  seen.push(await outcome(nc, await jobs.require(jobId), pcId));
  // The status key deleted (not a platform flow; a person with admin rights): unknown, so revoked.
  await (await new Kvm(nc).open(BUCKETS.scriptStatus)).delete(jobId);
  seen.push(await outcome(nc, await jobs.require(jobId), pcId));
  return seen;
}

const EXPECTED = ['ok', 'skipped/revoked', 'ok', 'skipped/version_superseded', 'ok', 'skipped/revoked'];

describe('the skip checks follow catalog changes on a live agent', () => {
  let s: TestStack;
  let nc: NatsConnection;
  before(async () => {
    s = await startStack();
    nc = await s.server.connect();
  });
  after(() => s.stop());

  test('revoke, re-activate, re-pin and delete between runs: each run sees the value of its time', async () => {
    const agent = await startAgent(s.server.url, 'pc-cache');
    try {
      assert.deepEqual(await changesBetweenRuns(nc, 'pc-cache', 'cached'), EXPECTED);
    } finally {
      await agent.stop();
    }
  });
});

test('credentials without the change subscriptions: every run reads the server, same outcomes', async (t) => {
  const s = await startSecureStack();
  const dataDir = await mkdtemp(join(tmpdir(), 'baton-agent-oldcreds-'));
  t.after(async () => {
    await s.stop();
    await rm(dataDir, { recursive: true, force: true });
  });
  const admin = await s.connect(s.credsFile('admin'));
  const creds = await s.issueAgent('pc-old'); // enrollment: the platform creates its consumer
  // The permissions an agent was issued before the skip checks were cached.
  const now = agentPermissions('pc-old');
  const before = {
    ...now,
    sub: {
      allow: now.sub.allow!.filter(
        (x) => !x.includes(BUCKETS.scriptStatus) && !x.includes(BUCKETS.scriptCurrent),
      ),
    },
  };
  assert.equal(before.sub.allow.length, now.sub.allow!.length - 2);
  await s.authority.writeUserCreds(creds, 'pc-old', before);
  const notes: string[] = [];
  const logger: Logger = { ...silentLogger, info: (_fields: object, msg: string) => void notes.push(msg) };
  const agent = new Agent({
    pcId: 'pc-old',
    servers: s.url,
    credsFile: creds,
    dataDir,
    logger,
    stopGraceMs: 2_000,
  });
  await agent.start();
  try {
    assert.ok(notes.includes('catalog changes not visible; reading on every run'), notes.join('; '));
    assert.deepEqual(await changesBetweenRuns(admin, 'pc-old', 'uncached'), EXPECTED);
  } finally {
    await agent.stop();
  }
});
