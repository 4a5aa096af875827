import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { AgentConfigStore, AgentDirectory, JobStore, readOutput } from '../../src/kv/index.js';
import { inlineOutputBytes, parseObsEvent, type ExecResult } from '../../src/wire/index.js';
import { collectResults, runJob, startAgent } from '../helpers/fleet.js';
import { putJob } from '../helpers/jobs.js';
import { startStack, type TestStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

const text = (r: ExecResult) => Buffer.from(inlineOutputBytes(r.stdout) ?? []).toString('utf8');

describe('agents run what is addressed to them', () => {
  let s: TestStack;
  let nc: NatsConnection;
  const agents: { stop(): Promise<void> }[] = [];
  before(async () => {
    s = await startStack();
    nc = await s.server.connect();
    await putJob(nc, 'hello', 'echo "hello from $BATON_PC_ID"');
    const dir = await AgentDirectory.open(nc);
    await dir.setGroups('pc-a', ['lab'], null);
    await dir.setGroups('pc-b', ['lab', 'web'], null);
    for (const pc of ['pc-a', 'pc-b', 'pc-c']) agents.push(await startAgent(s.server.url, pc));
    await waitFor('agents to report state', async () => (await dir.list()).agents.length === 3);
  });
  after(async () => {
    for (const a of agents) await a.stop();
    await s.stop();
  });

  test('all, group and pc targeting reach exactly the addressed agents, once each', async () => {
    const all = await runJob(nc, 'hello', [{ kind: 'all' }]);
    assert.deepEqual(all.expectedPcs, ['pc-a', 'pc-b', 'pc-c']);
    const allResults = await collectResults(nc, all.requestIds, 3);
    assert.deepEqual(allResults.map((r) => r.pcId).sort(), ['pc-a', 'pc-b', 'pc-c']);
    for (const r of allResults) {
      assert.equal(r.status, 'ok');
      assert.equal(r.exitCode, 0);
      assert.equal(text(r), `hello from ${r.pcId}\n`);
    }
    const lab = await runJob(nc, 'hello', [{ kind: 'group', group: 'lab' }]);
    assert.deepEqual(lab.expectedPcs, ['pc-a', 'pc-b']);
    assert.deepEqual((await collectResults(nc, lab.requestIds, 2)).map((r) => r.pcId).sort(), [
      'pc-a',
      'pc-b',
    ]);
    const one = await runJob(nc, 'hello', [
      { kind: 'pc', pcId: 'pc-c' },
      { kind: 'group', group: 'web' },
    ]);
    assert.deepEqual(one.expectedPcs, ['pc-b', 'pc-c']);
    assert.deepEqual((await collectResults(nc, one.requestIds, 2)).map((r) => r.pcId).sort(), [
      'pc-b',
      'pc-c',
    ]);
  });

  test("a group change moves the agent's consumer filters live", async () => {
    const dir = await AgentDirectory.open(nc);
    const { revision } = await dir.groupsOf('pc-c');
    await dir.setGroups('pc-c', ['late'], revision);
    const agent = agents[2] as unknown as { groups: readonly string[] };
    await waitFor('pc-c to follow its new group', () => agent.groups.includes('late'));
    const run = await runJob(nc, 'hello', [{ kind: 'group', group: 'late' }]);
    assert.deepEqual(run.expectedPcs, ['pc-c']);
    const [r] = await collectResults(nc, run.requestIds, 1);
    assert.equal(r?.pcId, 'pc-c');
  });

  test('revoked, superseded and expired requests are skipped with a reason, never silently', async () => {
    // Requests published while the agent is away, then the job changes under them.
    const lone = await startAgent(s.server.url, 'pc-skip');
    await lone.stop();
    await putJob(nc, 'pinned', 'echo v1', { version: '1' });
    await putJob(nc, 'revokable', 'echo r');
    await putJob(nc, 'late', 'echo late');
    const superseded = await runJob(nc, 'pinned', [{ kind: 'pc', pcId: 'pc-skip' }]);
    await putJob(nc, 'pinned', 'echo v2', { version: '2' });
    const revoked = await runJob(nc, 'revokable', [{ kind: 'pc', pcId: 'pc-skip' }]);
    await (await JobStore.open(nc)).setStatus('revokable', 'REVOKED');
    const expired = await runJob(nc, 'late', [{ kind: 'pc', pcId: 'pc-skip' }], { deadlineMs: 1 });
    const back = await startAgent(s.server.url, 'pc-skip', lone.dataDir);
    try {
      const results = await collectResults(
        nc,
        [...superseded.requestIds, ...revoked.requestIds, ...expired.requestIds],
        3,
      );
      const byJob = Object.fromEntries(results.map((r) => [r.jobId, [r.status, r.reason]]));
      assert.deepEqual(byJob, {
        pinned: ['skipped', 'version_superseded'],
        revokable: ['skipped', 'revoked'],
        late: ['skipped', 'deadline_passed'],
      });
    } finally {
      await back.stop();
    }
  });

  test('an offline agent catches up on reconnect: every valid request, in order, none twice', async () => {
    await putJob(nc, 'stamp', 'echo "$BATON_EXEC_ID" >> "$BATON_STAMP_FILE"');
    const first = await startAgent(s.server.url, 'pc-off');
    await first.stop();
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(await runJob(nc, 'stamp', [{ kind: 'pc', pcId: 'pc-off' }]));
    process.env['BATON_STAMP_FILE'] = join(first.dataDir, 'stamps');
    const back = await startAgent(s.server.url, 'pc-off', first.dataDir);
    try {
      const results = await collectResults(
        nc,
        runs.flatMap((r) => r.requestIds),
        3,
      );
      assert.ok(
        results.every((r) => r.status === 'ok'),
        JSON.stringify(results.map((r) => r.status)),
      );
      const stamps = (await readFile(join(first.dataDir, 'stamps'), 'utf8')).trim().split('\n');
      assert.deepEqual(stamps.sort(), runs.map((r) => r.execId).sort());
    } finally {
      delete process.env['BATON_STAMP_FILE'];
      await back.stop();
    }
  });

  test('a 5 MB stdout goes through the object store byte for byte with its sha256', async () => {
    await putJob(nc, 'big', "i=0; while [ $i -lt 50000 ]; do printf '%099d\\n' $i; i=$((i+1)); done");
    const run = await runJob(nc, 'big', [{ kind: 'pc', pcId: 'pc-a' }]);
    const [r] = await collectResults(nc, run.requestIds, 1, 60_000);
    assert.equal(r?.status, 'ok');
    assert.equal(r.stdout.bytes, 5_000_000);
    assert.equal(r.stdout.inline, undefined);
    assert.deepEqual(r.stdout.object, { bucket: 'result_output', name: `${run.requestIds[0]}/pc-a/stdout` });
    const hash = createHash('sha256');
    let bytes = 0;
    let firstLine = '';
    for await (const chunk of readOutput(nc, r.stdout)) {
      if (!firstLine) firstLine = Buffer.from(chunk).toString('utf8').split('\n')[0]!;
      hash.update(chunk);
      bytes += chunk.length;
    }
    assert.equal(bytes, 5_000_000);
    assert.equal(hash.digest('hex'), r.stdout.sha256);
    assert.equal(firstLine, '0'.repeat(99));
  });

  test('binary garbage and invalid UTF-8 output are reported faithfully; the agent stays up', async () => {
    await putJob(nc, 'garbage', "printf '\\377\\376\\000abc\\300\\n'");
    const run = await runJob(nc, 'garbage', [{ kind: 'pc', pcId: 'pc-b' }]);
    const [r] = await collectResults(nc, run.requestIds, 1);
    assert.equal(r?.stdout.inline?.encoding, 'base64');
    assert.deepEqual([...inlineOutputBytes(r.stdout)!], [0xff, 0xfe, 0x00, 0x61, 0x62, 0x63, 0xc0, 0x0a]);
    const again = await runJob(nc, 'hello', [{ kind: 'pc', pcId: 'pc-b' }]);
    assert.equal((await collectResults(nc, again.requestIds, 1))[0]?.status, 'ok');
  });

  test('garbage on an exec subject is recorded, acked, and does not pin the consumer', async () => {
    const js = jetstream(nc);
    await js.publish('exec.pc.pc-a', 'this is not json {');
    await js.publish('exec.pc.pc-a', JSON.stringify({ v: 1, requestId: 'x' }));
    const run = await runJob(nc, 'hello', [{ kind: 'pc', pcId: 'pc-a' }]);
    assert.equal((await collectResults(nc, run.requestIds, 1))[0]?.status, 'ok');
    await waitFor('two invalid_request events on the timeline', async () => {
      const obs = await js.consumers.get('OBS_EVENTS', { filter_subjects: ['obs.pc-a'] });
      const kinds: string[] = [];
      for await (const m of await obs.fetch({ max_messages: 100, expires: 1_000 })) {
        kinds.push(parseObsEvent(m.data).kind);
        if (m.info.pending === 0) break;
      }
      return kinds.filter((k) => k === 'invalid_request').length === 2;
    });
  });

  test('failing scripts, timeouts and kills: status, exit code, and the whole process tree ends', async () => {
    await putJob(nc, 'fails', 'echo out; echo err >&2; exit 7');
    const f = await runJob(nc, 'fails', [{ kind: 'pc', pcId: 'pc-a' }]);
    const [failed] = await collectResults(nc, f.requestIds, 1);
    assert.deepEqual(
      [failed?.status, failed?.exitCode, Buffer.from(inlineOutputBytes(failed!.stderr)!).toString()],
      ['failed', 7, 'err\n'],
    );

    // A script that starts children which would outlive it; the timeout must end all of them.
    const pidFile = join(
      agents.length ? (agents[0] as unknown as { dataDir: string }).dataDir : '/tmp',
      'tree.pids',
    );
    await putJob(
      nc,
      'tree',
      `sleep 300 & echo $! > ${pidFile}; (sleep 300 & echo $! >> ${pidFile}; wait) & wait`,
      { timeout: '2s' },
    );
    const t = await runJob(nc, 'tree', [{ kind: 'pc', pcId: 'pc-a' }]);
    const [timedOut] = await collectResults(nc, t.requestIds, 1);
    assert.equal(timedOut?.status, 'timeout');
    const pids = (await readFile(pidFile, 'utf8')).trim().split('\n').map(Number);
    assert.equal(pids.length, 2);
    for (const pid of pids) {
      await waitFor(`child ${pid} to be gone`, () => {
        try {
          process.kill(pid, 0);
          return false;
        } catch {
          return true;
        }
      });
    }

    await putJob(nc, 'forever', 'sleep 300 & wait', { timeout: '1h' });
    const k = await runJob(nc, 'forever', [{ kind: 'pc', pcId: 'pc-b' }]);
    await waitFor('the script to run', async () => {
      const { agents: states } = await (await AgentDirectory.open(nc)).list();
      return states.find((a) => a.pcId === 'pc-b')?.running.length === 1 || undefined;
    }).catch(() => undefined);
    const replies = await waitFor('kill to reach the running script', async () => {
      const iter = await nc.requestMany('ctl.all.kill', JSON.stringify({ execId: k.execId }), {
        maxWait: 500,
      });
      let n = 0;
      for await (const m of iter) n += m.json<{ killed: number }>().killed;
      return n > 0 ? n : undefined;
    });
    assert.equal(replies, 1);
    const [killed] = await collectResults(nc, k.requestIds, 1);
    assert.equal(killed?.status, 'killed');
  });

  test('layered config applies live without a restart', async () => {
    const store = await AgentConfigStore.open(nc);
    const agent = agents[0] as unknown as { config: { heartbeatIntervalMs: number; concurrency: number } };
    assert.equal(agent.config.heartbeatIntervalMs, 15_000);
    await store.update('global', { heartbeat_interval: '2s', concurrency: 2 });
    await store.update('groups.lab', { concurrency: 3 });
    await store.update('pcs.pc-a', { heartbeat_interval: '1s' });
    await waitFor(
      'pc-a to apply its config',
      () => agent.config.heartbeatIntervalMs === 1_000 && agent.config.concurrency === 3,
    );
    const eff = await store.effective('pc-a', ['lab']);
    assert.deepEqual(eff.sources, {
      heartbeat_interval: 'pcs.pc-a',
      concurrency: 'groups.lab',
      max_output_bytes: 'default',
      live_output: 'default',
      kill_grace: 'default',
      target_version: 'default',
      update_jitter: 'default',
    });
    // And the agent really heartbeats faster: lastSeenAt advances within ~1s.
    const dir = await AgentDirectory.open(nc);
    const seen = async () => (await dir.list()).agents.find((a) => a.pcId === 'pc-a')!.lastSeenAt;
    const t0 = await seen();
    await waitFor('a heartbeat at the new interval', async () => (await seen()) !== t0, { timeoutMs: 3_000 });
  });
  test('retry on failed: attempts until one succeeds, each a result of its own; timeout not listed is final', async () => {
    const work = await mkdtemp(join(tmpdir(), 'baton-retry-'));
    const count = join(work, 'count');
    // Fails on attempts 1 and 2, succeeds on 3; prints the attempt the agent says it is.
    await putJob(nc, 'flaky', `echo "$BATON_ATTEMPT" >> ${count}\n[ "$(wc -l < ${count})" -ge 3 ] || exit 7\necho "ok on $BATON_ATTEMPT"`, {
      extra: 'retry: { max: 3, backoff: 1s, on: [failed] }\n',
    }); // prettier-ignore
    const run = await runJob(nc, 'flaky', [{ kind: 'pc', pcId: 'pc-a' }]);
    const results = (await collectResults(nc, run.requestIds, 3, 30_000)).sort(
      (a, b) => (a.attempt ?? 1) - (b.attempt ?? 1),
    );
    const req = run.requestIds[0]!;
    assert.deepEqual(
      results.map((r) => [r.resultId, r.status, r.exitCode, r.attempt, typeof r.retryAt]),
      [
        [`${req}.pc-a`, 'failed', 7, 1, 'string'],
        [`${req}.pc-a.2`, 'failed', 7, 2, 'string'],
        [`${req}.pc-a.3`, 'ok', 0, 3, 'undefined'],
      ],
    );
    assert.equal(text(results[2]!), 'ok on 3\n');
    // Backoff doubles: attempt 3 is due at least 2 s after attempt 2 ended.
    assert.ok(Date.parse(results[1]!.retryAt!) - Date.parse(results[1]!.finishedAt) >= 2_000);
    assert.equal((await readFile(count, 'utf8')).trim().split('\n').length, 3);

    await putJob(nc, 'slowfail', 'sleep 5', {
      timeout: '1s',
      extra: 'retry: { max: 2, backoff: 1s, on: [failed] }\n',
    });
    const slow = await runJob(nc, 'slowfail', [{ kind: 'pc', pcId: 'pc-a' }]);
    const [only] = await collectResults(nc, slow.requestIds, 1, 20_000);
    assert.deepEqual([only?.status, only?.attempt, only?.retryAt], ['timeout', 1, undefined]);
  });
});
