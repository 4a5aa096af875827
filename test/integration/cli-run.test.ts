// `baton run --wait` and `baton exec` as a user runs them: real CLI child processes, a real agent.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { NatsConnection } from '@nats-io/transport-node';
import { EXIT } from '../../src/cli/exit-codes.js';
import { AgentDirectory } from '../../src/kv/index.js';
import { startAgent } from '../helpers/fleet.js';
import { putJob } from '../helpers/jobs.js';
import { startStack, type TestStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

describe('baton run --wait and baton exec', () => {
  let s: TestStack;
  let nc: NatsConnection;
  const agents: { stop(): Promise<void> }[] = [];
  before(async () => {
    s = await startStack();
    nc = await s.server.connect();
    for (const pc of ['cli-a', 'cli-b']) agents.push(await startAgent(s.server.url, pc));
    const dir = await AgentDirectory.open(nc);
    await waitFor('agents to report', async () => (await dir.list()).agents.length === 2);
    await putJob(nc, 'works', 'echo "ok on $BATON_PC_ID"');
    await putJob(nc, 'fails-on-b', '[ "$BATON_PC_ID" = cli-b ] && exit 4; echo fine');
  });
  after(async () => {
    for (const a of agents) await a.stop();
    await s.stop();
  });

  test('run --wait exits 0 when every pc is ok, 1 when one is not, with a per-pc table', async () => {
    const ok = await s.cli(['run', 'works', '--target', 'all', '--wait']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^PC\s+STATUS\s+EXIT/m);
    assert.match(ok.stdout, /cli-a\s+ok\s+0/);
    assert.match(ok.stdout, /cli-b\s+ok\s+0/);

    const raw = await s.cli(['run', 'fails-on-b', '--target', 'pc:cli-a,pc:cli-b', '--wait', '--json']);
    assert.equal(raw.code, EXIT.failed);
    const out = JSON.parse(raw.stdout) as {
      ok: boolean;
      results: { pcId: string; status: string; exitCode: number }[];
    };
    assert.equal(out.ok, false);
    assert.deepEqual(
      out.results.map((r) => [r.pcId, r.status, r.exitCode]),
      [
        ['cli-a', 'ok', 0],
        ['cli-b', 'failed', 4],
      ],
    );
  });

  test('run refuses bad targets and unknown jobs with their own exit codes', async () => {
    const target = await s.cli(['run', 'works', '--target', 'everyone']);
    assert.equal(target.code, EXIT.usage);
    assert.match(target.stderr, /--target: 'everyone' is not a target; use all, group:<name> or pc:<id>/);
    const missing = await s.cli(['run', 'nope', '--target', 'all']);
    assert.equal(missing.code, EXIT.notFound);
    assert.match(missing.stderr, /no job 'nope'/);
  });

  test('exec streams the script output and exits with its exit code', async () => {
    const r = await s.cli(['exec', '--pc', 'cli-a', '--', 'echo out; echo err >&2; exit 3']);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stdout, 'out\n');
    assert.match(r.stderr, /err\n/);
    const big = await s.cli([
      'exec',
      '--pc',
      'cli-b',
      '--',
      "i=0; while [ $i -lt 20000 ]; do printf '%019d\\n' $i; i=$((i+1)); done",
    ]);
    assert.equal(big.code, 0, big.stderr);
    assert.equal(big.stdout.length, 400_000);
    assert.equal(big.stdout.split('\n')[19_999], '19999'.padStart(19, '0'));
  });

  test('exec on a pc with no agent says so instead of hanging forever', async () => {
    const r = await s.cli(['exec', '--pc', 'nobody', '--deadline', '2s', '--', 'true'], {
      timeoutMs: 60_000,
    });
    assert.equal(r.code, EXIT.unavailable, r.stderr);
    assert.match(r.stderr, /no result from nobody \(is its agent running\?\)/);
  });
});
