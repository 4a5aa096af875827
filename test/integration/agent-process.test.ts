// `baton agent` as one process: the launcher in the main thread, the agent in a worker thread
// (docs/agents.md, "Self-update"). SIGTERM lets a running script finish; a crashed worker, or one
// above its heap limit, is restarted in the same process and comes back online; the command line
// around it (help, flags) stays what it was. An endpoint that starts while the server cannot be
// reached waits for it instead of exiting.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BUNDLE_ENTRY } from '../../src/shared/agent-bundle.js';
import { projectRoot } from '../../src/shared/paths.js';
import { inlineOutputBytes } from '../../src/wire/index.js';
import { baton } from '../helpers/cli.js';
import { agentReady, collectResults, runJob, spawnAgent, type AgentProcess } from '../helpers/fleet.js';
import { putJob } from '../helpers/jobs.js';
import { startStack, type TestStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';
import { startTestServer, TEST_TOPOLOGY, type TestServer } from '../helpers/nats-server.js';
import { ensureTopology } from '../../src/kv/index.js';

/** The pids of a process's child processes (a second Node process would show here). */
function childPids(pid: number): string[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
}

/**
 * Makes `<dataDir>/releases/9.9.9` current: its worker entry runs `fault` on its first start only,
 * then this build's worker entry (so the agent comes back healthy after a restart).
 */
async function faultyRelease(dataDir: string, fault: string): Promise<void> {
  const release = join(dataDir, 'releases', '9.9.9');
  const once = join(dataDir, 'fault.mark');
  const entry = join(release, BUNDLE_ENTRY);
  await mkdir(dirname(entry), { recursive: true });
  const pkg = JSON.parse(await readFile(join(projectRoot(), 'package.json'), 'utf8')) as object;
  await writeFile(join(release, 'package.json'), JSON.stringify({ ...pkg, version: '9.9.9' }));
  await writeFile(
    entry,
    `import { existsSync, writeFileSync } from 'node:fs';
if (!existsSync(${JSON.stringify(once)})) {
  writeFileSync(${JSON.stringify(once)}, '');
  ${fault}
}
await import(${JSON.stringify(pathToFileURL(join(projectRoot(), BUNDLE_ENTRY)).href)});
`,
  );
  await writeFile(
    join(dataDir, 'releases', 'current.json'),
    JSON.stringify({ version: '9.9.9', previous: null, trial: false }),
  );
}

describe('baton agent: one process, the agent in a worker thread', () => {
  let s: TestStack;
  let work: string;
  const agents: AgentProcess[] = [];

  before(async () => {
    s = await startStack();
    work = await mkdtemp(join(tmpdir(), 'baton-agent-process-'));
  });
  after(async () => {
    for (const a of agents) if (a.child.exitCode === null) a.child.kill('SIGKILL');
    await s.stop();
    await rm(work, { recursive: true, force: true });
  });

  test('baton --help lists every command; baton agent --help shows the agent flags', async () => {
    const all = await baton(['--help']);
    assert.equal(all.code, 0, all.stderr);
    for (const cmd of ['up', 'agent', 'agent-release', 'run', 'backend', 'projector'])
      assert.match(all.stdout, new RegExp(`^  ${cmd}\\b`, 'm'), `${cmd} in baton --help`);
    const agent = await baton(['--server', 'nats://127.0.0.1:1', 'agent', '--help']);
    assert.equal(agent.code, 0, agent.stderr);
    for (const flag of ['--pc-id', '--stop-grace', '--no-self-update', '--health-timeout', '--max-heap'])
      assert.ok(agent.stdout.includes(flag), `${flag} in baton agent --help`);
    assert.ok(!agent.stdout.includes('--worker'), 'the internal flag stays hidden');
    const bad = await baton(['agent', '--max-heap', 'lots']);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /--max-heap: 'lots' is not a whole number of MB \(64 or more\)/);
    const unknown = await baton(['agent', '--retries', '3']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown option '--retries'/);
  });

  test('SIGTERM with a script running: it finishes, its result is published, exit 0', async () => {
    const nc = await s.server.connect();
    const mark = join(work, 'graceful.mark');
    await putJob(nc, 'graceful', `echo started > ${mark}\nsleep 2\necho finished`, { timeout: '1m' });
    const agent = spawnAgent(s.server.url, 'pc-graceful', join(work, 'graceful'), ['--stop-grace', '30']);
    agents.push(agent);
    await agentReady(agent);
    assert.deepEqual(childPids(agent.child.pid!), [], 'no second process at idle');
    const run = await runJob(nc, 'graceful', [{ kind: 'pc', pcId: 'pc-graceful' }]);
    await waitFor('the script to start', () => existsSync(mark));
    agent.child.kill('SIGTERM');
    const [r] = await collectResults(nc, run.requestIds, 1, 30_000);
    assert.equal(r?.status, 'ok', JSON.stringify(r));
    assert.equal(Buffer.from(inlineOutputBytes(r.stdout)!).toString(), 'finished\n');
    assert.equal(await agent.exited, 0, agent.output());
    assert.match(agent.output(), /"msg":"agent stopped"/);
  });

  test('an uncaught error in the agent worker: restarted in the same process, back online, runs jobs', async () => {
    const nc = await s.server.connect();
    const dataDir = join(work, 'crashing');
    await faultyRelease(dataDir, "setTimeout(() => { throw new Error('injected crash'); }, 1000);");
    const agent = spawnAgent(s.server.url, 'pc-crashing', dataDir);
    agents.push(agent);
    await waitFor('the crash to be logged', () => agent.output().includes('crashed: injected crash'), {
      timeoutMs: 20_000,
    });
    assert.match(agent.output(), /"msg":"agent exited; restarting it"/);
    const afterCrash = () => agent.output().slice(agent.output().indexOf('crashed: injected crash'));
    await waitFor('the agent to start again', () => afterCrash().includes('agent started'), {
      timeoutMs: 20_000,
    });
    assert.equal(agent.child.exitCode, null, 'the process stays up');
    assert.deepEqual(childPids(agent.child.pid!), [], 'still one process');
    await putJob(nc, 'after-crash', 'echo alive');
    const run = await runJob(nc, 'after-crash', [{ kind: 'pc', pcId: 'pc-crashing' }]);
    const [r] = await collectResults(nc, run.requestIds, 1, 30_000);
    assert.equal(r?.status, 'ok');
    // Not a failed update: the release was healthy before, so it is restarted, not rolled back.
    assert.deepEqual(JSON.parse(await readFile(join(dataDir, 'releases', 'current.json'), 'utf8')), {
      version: '9.9.9',
      previous: null,
      trial: false,
    });
    agent.child.kill('SIGTERM');
    assert.equal(await agent.exited, 0, agent.output());
  });

  test('an agent above --max-heap is ended and restarted, the host process stays up', async () => {
    const dataDir = join(work, 'leaking');
    // Grows its heap without bound (and never starts the agent) on the first start only.
    await faultyRelease(dataDir, 'const kept = []; for (;;) kept.push({ at: Date.now(), pad: [1, 2, 3] });');
    const agent = spawnAgent(s.server.url, 'pc-leaking', dataDir, ['--max-heap', '64']);
    agents.push(agent);
    await waitFor(
      'the out-of-memory end to be logged',
      () => agent.output().includes('ran out of memory (heap limit 64 MB)'),
      { timeoutMs: 30_000 },
    );
    await agentReady(agent);
    assert.equal(agent.child.exitCode, null, 'the process stays up');
    agent.child.kill('SIGTERM');
    assert.equal(await agent.exited, 0, agent.output());
  });
});

describe('baton agent: started while the server cannot be reached', () => {
  let server: TestServer;
  let work: string;
  const agents: AgentProcess[] = [];

  before(async () => {
    server = await startTestServer();
    await ensureTopology(await server.connect(), TEST_TOPOLOGY);
    await server.kill(); // the store and port are kept for start()
    work = await mkdtemp(join(tmpdir(), 'baton-agent-offline-'));
  });
  after(async () => {
    for (const a of agents) if (a.child.exitCode === null) a.child.kill('SIGKILL');
    await server.stop();
    await rm(work, { recursive: true, force: true });
  });

  const waiting = (a: AgentProcess) => a.output().includes('"msg":"NATS not reachable; waiting for it"');

  test('an endpoint that boots offline waits for the server, then starts and runs jobs', async () => {
    const agent = spawnAgent(server.url, 'pc-offline', join(work, 'offline'));
    agents.push(agent);
    await waitFor('the agent to report that it waits for NATS', () => waiting(agent));
    assert.equal(agent.child.exitCode, null, 'it does not exit (it used to exit 5 at once)');
    await server.start();
    await agentReady(agent);
    const nc = await server.connect();
    await putJob(nc, 'after-boot', 'echo online');
    const run = await runJob(nc, 'after-boot', [{ kind: 'pc', pcId: 'pc-offline' }]);
    const [r] = await collectResults(nc, run.requestIds, 1, 30_000);
    assert.equal(r?.status, 'ok', JSON.stringify(r));
    agent.child.kill('SIGTERM');
    assert.equal(await agent.exited, 0, agent.output());
  });

  test('SIGTERM while it waits for the server: it stops at once with exit 0', async () => {
    await server.kill();
    const agent = spawnAgent(server.url, 'pc-never', join(work, 'never'));
    agents.push(agent);
    await waitFor('the agent to report that it waits for NATS', () => waiting(agent));
    agent.child.kill('SIGTERM');
    assert.equal(await agent.exited, 0, agent.output());
    assert.match(agent.output(), /"msg":"agent stopped"/);
  });

  test('a server that refuses the agent is not waited for: it exits 5 saying why', async (t) => {
    const guarded = await startTestServer(['--user', 'someone', '--pass', 'secret']);
    t.after(() => guarded.stop());
    const agent = spawnAgent(guarded.url, 'pc-refused', join(work, 'refused'));
    agents.push(agent);
    assert.equal(await agent.exited, 5, agent.output());
    assert.match(agent.output(), /Authorization Violation|authorization/i);
    assert.ok(!waiting(agent), 'no waiting for a server that answered no');
  });
});
