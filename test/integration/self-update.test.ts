// Agent self-update with real processes: `baton agent` (the launcher) runs the agent in a worker thread;
// releases are bundles built from this build's dist/ with a patched version, put with the real
// `baton agent-release put`; targets are set through layered config. One agent updates from the
// base install to 0.2.0 and runs a job on it, then is pointed at a release whose entry exits at
// once, and at one that never becomes healthy; each time it rolls back to 0.2.0 and reports the
// failure (ObsEvent and agent state).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { AgentConfigStore, BUCKETS, STREAMS } from '../../src/kv/index.js';
import {
  obsSubject,
  parseAgentState,
  parseObsEvent,
  type AgentState,
  type ObsEvent,
} from '../../src/wire/index.js';
import { BUNDLE_ENTRY } from '../../src/shared/agent-bundle.js';
import { packageVersion, projectRoot } from '../../src/shared/paths.js';
import { agentReady, collectResults, runJob, spawnAgent, type AgentProcess } from '../helpers/fleet.js';
import { putJob } from '../helpers/jobs.js';
import { startStack, type TestStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

const PC = 'pc-update';
/** One update: the old agent stops, the new one starts (a node process) and connects. */
const UPDATE_MS = 45_000;
/** --health-timeout of the agent under test: long enough for a real start on a loaded machine. */
const HEALTH_TIMEOUT_S = 8;

/** A bundle: package.json with `version` and the given dist/src (this build's, or one file). */
async function makeBundle(work: string, version: string, brokenEntry?: 'exits' | 'hangs'): Promise<string> {
  const dir = join(work, `bundle-${version}`);
  await mkdir(dir, { recursive: true });
  const pkg = JSON.parse(await readFile(join(projectRoot(), 'package.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  await writeFile(join(dir, 'package.json'), JSON.stringify({ ...pkg, version }));
  const out = join(work, `baton-agent-${version}.tgz`);
  if (brokenEntry) {
    // The worker entry only: one that ends its thread at once, or one that never reports healthy.
    await mkdir(join(dir, dirname(BUNDLE_ENTRY)), { recursive: true });
    const code = brokenEntry === 'exits' ? 'process.exit(3);\n' : 'setInterval(() => {}, 1000);\n';
    await writeFile(join(dir, BUNDLE_ENTRY), code);
    execFileSync('tar', ['-czf', out, '-C', dir, 'package.json', 'dist/src']);
  } else {
    execFileSync('tar', ['-czf', out, '-C', dir, 'package.json', '-C', projectRoot(), 'dist/src']);
  }
  return out;
}

async function readPointer(
  work: string,
): Promise<{ version: string | null; previous: string | null; trial: boolean }> {
  return JSON.parse(await readFile(join(work, 'agent', 'releases', 'current.json'), 'utf8')) as never;
}

async function agentState(nc: NatsConnection): Promise<AgentState | undefined> {
  const e = await (await new Kvm(nc).open(BUCKETS.agentsState)).get(PC);
  return e?.operation === 'PUT' ? parseAgentState(e.value) : undefined;
}

async function obsEvents(nc: NatsConnection): Promise<ObsEvent[]> {
  const c = await jetstream(nc).consumers.get(STREAMS.obsEvents, { filter_subjects: [obsSubject(PC)] });
  const out: ObsEvent[] = [];
  for await (const m of await c.fetch({ max_messages: 1000, expires: 1_000 })) {
    out.push(parseObsEvent(m.data));
    if (m.info.pending === 0) break;
  }
  return out;
}

describe('agent self-update', { timeout: 240_000 }, () => {
  let s: TestStack;
  let nc: NatsConnection;
  let work: string;
  let agent: AgentProcess | undefined;

  before(async () => {
    s = await startStack();
    nc = await s.server.connect('self-update');
    work = await mkdtemp(join(tmpdir(), 'baton-update-'));
  });
  after(async () => {
    if (agent && agent.child.exitCode === null) {
      agent.child.kill('SIGTERM');
      await agent.exited;
    }
    await s.stop();
    await rm(work, { recursive: true, force: true });
  });

  test('agent-release put checks the bundle, refuses to overwrite a version, and leaves a receipt', async () => {
    const v2 = await makeBundle(work, '0.2.0');
    const wrong = await s.cli(['agent-release', 'put', '0.9.0', v2]);
    assert.equal(wrong.code, 2, wrong.stderr);
    assert.match(wrong.stderr, /is version '0\.2\.0' \(its package\.json\), not '0\.9\.0'/);
    const notGzip = join(work, 'not.tgz');
    await writeFile(notGzip, 'hello');
    assert.match((await s.cli(['agent-release', 'put', '0.2.0', notGzip])).stderr, /not a gzipped tar/);

    const put = await s.json<{ version: string; sha256: string }>(['agent-release', 'put', '0.2.0', v2]);
    assert.equal(put.version, '0.2.0');
    assert.match(put.sha256, /^[0-9a-f]{64}$/);
    const again = await s.cli(['agent-release', 'put', '0.2.0', v2]);
    assert.equal(again.code, 3, again.stderr);
    assert.match(again.stderr, /releases are immutable/);
    const ls = await s.json<{ version: string }[]>(['agent-release', 'ls']);
    assert.deepEqual(
      ls.map((r) => r.version),
      ['0.2.0'],
    );
    const receipts = await s.json<{ action: string; target: { id: string } }[]>([
      'audit',
      '--action',
      'release',
    ]);
    assert.deepEqual(
      receipts.map((r) => [r.action, r.target.id]),
      [['release.put', '0.2.0']],
    );
  });

  test('a target version is downloaded, checked, swapped in and reported; jobs run on the new version', async () => {
    agent = spawnAgent(s.server.url, PC, join(work, 'agent'), ['--health-timeout', String(HEALTH_TIMEOUT_S)]);
    await agentReady(agent);
    const base = packageVersion();
    await waitFor(
      'the base version in agents_state',
      async () => (await agentState(nc))?.agentVersion === base,
    );
    const config = await AgentConfigStore.open(nc);
    await config.update('global', { update_jitter: '1s' });
    await config.update(`pcs.${PC}`, { target_version: '0.2.0' });

    const updated = await waitFor(
      'the agent to report 0.2.0',
      async () => {
        const st = await agentState(nc);
        return st?.agentVersion === '0.2.0' && st.update === undefined ? st : undefined;
      },
      { timeoutMs: UPDATE_MS, intervalMs: 200 },
    );
    assert.equal(updated.pcId, PC);
    // The launcher ends the trial once the agent told it it started (just after its first heartbeat).
    await waitFor('the launcher to end the trial of 0.2.0', async () => {
      const p = await readPointer(work);
      return p.version === '0.2.0' && p.previous === null && !p.trial;
    });
    const events = await obsEvents(nc);
    const done = events.find((e) => e.kind === 'agent_updated');
    assert.deepEqual(done?.payload, { from: base, to: '0.2.0' });

    await putJob(nc, 'after-update', 'echo "running on $BATON_PC_ID"');
    const run = await runJob(nc, 'after-update', [{ kind: 'pc', pcId: PC }]);
    const [r] = await collectResults(nc, run.requestIds, 1, 30_000);
    assert.equal(r?.status, 'ok');
  });

  test('a release that fails to start is rolled back and reported, and not retried', async () => {
    assert.equal(
      (await s.cli(['agent-release', 'put', '0.3.0', await makeBundle(work, '0.3.0', 'exits')])).code,
      0,
    );
    await (await AgentConfigStore.open(nc)).update(`pcs.${PC}`, { target_version: '0.3.0' });

    const failed = await waitFor(
      'the agent to report the failed update',
      async () => {
        const st = await agentState(nc);
        return st?.update?.status === 'failed' ? st : undefined;
      },
      { timeoutMs: UPDATE_MS, intervalMs: 200 },
    );
    assert.equal(failed.agentVersion, '0.2.0', 'the previous release runs again');
    assert.equal(failed.update?.version, '0.3.0');
    assert.match(failed.update?.error ?? '', /rolled back to 0\.2\.0: exited with code 3/);
    const ev = await waitFor('an agent_update_failed event', async () =>
      (await obsEvents(nc)).find((e) => e.kind === 'agent_update_failed'),
    );
    assert.deepEqual(ev.payload, { version: '0.3.0', reason: 'exited with code 3', rolledBackTo: '0.2.0' });
    assert.deepEqual(await readPointer(work), { version: '0.2.0', previous: null, trial: false });
    // The agent keeps working on 0.2.0; its one start of 0.3.0 is all it tried.
    const run = await runJob(nc, 'after-update', [{ kind: 'pc', pcId: PC }]);
    assert.equal((await collectResults(nc, run.requestIds, 1, 30_000))[0]?.status, 'ok');
    assert.equal((agent!.output().match(/switching to a new agent release/g) ?? []).length, 2);
  });

  test('a release that never reports healthy is stopped after --health-timeout and rolled back', async () => {
    assert.equal(
      (await s.cli(['agent-release', 'put', '0.4.0', await makeBundle(work, '0.4.0', 'hangs')])).code,
      0,
    );
    await (await AgentConfigStore.open(nc)).update(`pcs.${PC}`, { target_version: '0.4.0' });
    const failed = await waitFor(
      'the agent to report the failed update of 0.4.0',
      async () => {
        const st = await agentState(nc);
        return st?.update?.status === 'failed' && st.update.version === '0.4.0' ? st : undefined;
      },
      { timeoutMs: UPDATE_MS + HEALTH_TIMEOUT_S * 1000, intervalMs: 200 },
    );
    assert.equal(failed.agentVersion, '0.2.0');
    assert.match(
      failed.update?.error ?? '',
      new RegExp(`rolled back to 0\\.2\\.0: did not report healthy within ${HEALTH_TIMEOUT_S}s`),
    );
    assert.deepEqual(await readPointer(work), { version: '0.2.0', previous: null, trial: false });
  });
});
