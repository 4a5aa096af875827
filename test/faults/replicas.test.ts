// Replicas: two schedulers, two projectors (each its own SQLite) and two backends (each with its
// own projection), all real `baton` processes, with two agents running a schedule that fires every
// second. Each fire becomes one execution, and every read model holds the same rows; both backends
// answer the same executions.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AgentDirectory, AuthStore } from '../../src/kv/index.js';
import type { Agent } from '../../src/agent/index.js';
import { startAgent } from '../helpers/fleet.js';
import { startStack, type TestStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';
import {
  dumpTables,
  projectedAll,
  spawnBaton,
  spawnProjector,
  sqlRows,
  trySqlValue,
  type BatonProcess,
} from '../helpers/faults.js';

const JOB = `kind: job
id: tick
version: "1"
execute:
  shell: sh
  timeout: 10s
  script: echo "tick from $BATON_PC_ID"
`;
const SCHEDULE = `kind: schedule
id: every
job: tick
target: { all: true }
cron: "* * * * * *"
jitter: 0s
starting_deadline: 1m
overlap: allow
`;
const FIRES = 5;

/** The backend's URL from its `backend listening` log line. */
async function backendUrl(p: BatonProcess): Promise<string> {
  return waitFor(`${p.name} to listen`, () => /"url":"(http:[^"]+)"/.exec(p.output())?.[1], {
    timeoutMs: 30_000,
  });
}

describe('fault: replicas of every platform process', () => {
  let s: TestStack;
  const procs: BatonProcess[] = [];
  const agents: Agent[] = [];
  before(async () => {
    s = await startStack();
  });
  after(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    for (const p of procs) await p.kill();
    await s.stop();
  });

  test('2 schedulers, 2 projectors, 2 backends: one execution per fire, identical read models', async () => {
    const nc = await s.server.connect();
    const url = s.server.url;
    const dbs = {
      p1: join(s.dir, 'p1.db'),
      p2: join(s.dir, 'p2.db'),
      b1: join(s.dir, 'b1.db'),
      b2: join(s.dir, 'b2.db'),
    };
    procs.push(
      spawnProjector(url, dbs.p1, 'p1'),
      spawnProjector(url, dbs.p2, 'p2'),
      spawnBaton('scheduler-a', url, ['scheduler', '--name', 'a']),
      spawnBaton('scheduler-b', url, ['scheduler', '--name', 'b']),
    );
    const backends = ['b1', 'b2'].map((b) =>
      spawnBaton(`backend-${b}`, url, ['backend', '--port', '0', '--no-setup', '--db', dbs[b as 'b1'], '--instance', b, '--web', join(s.dir, 'no-web')]),
    ); // prettier-ignore
    procs.push(...backends);
    const urls = await Promise.all(backends.map(backendUrl));
    agents.push(await startAgent(url, 'pc-1'), await startAgent(url, 'pc-2'));
    const directory = await AgentDirectory.open(nc);
    await waitFor('both agents in agents_state', async () => (await directory.list()).agents.length === 2);

    await writeFile(join(s.dir, 'every.yaml'), `${JOB}---\n${SCHEDULE}`);
    const applied = await s.cli(['apply', '-f', 'every.yaml']);
    assert.equal(applied.code, 0, applied.stderr);
    await waitFor(`${FIRES} fires`, () => (trySqlValue(dbs.p1, 'SELECT COUNT(*) FROM executions') ?? 0) >= FIRES, {
      timeoutMs: 60_000,
      intervalMs: 200,
    }); // prettier-ignore
    const disabled = await s.cli(['schedules', 'disable', 'every']);
    assert.equal(disabled.code, 0, disabled.stderr);
    // Both schedulers have stopped firing once the disable is in their watch; stop them to be sure.
    for (const p of procs.filter((x) => x.name.startsWith('scheduler')))
      assert.equal(await p.stop(), 0, p.output());

    const fires = await waitFor('every execution final in every read model', () => {
      const per = Object.values(dbs).map((db) =>
        sqlRows<{ n: number; open: number }>(db, "SELECT COUNT(*) AS n, COALESCE(SUM(status = 'running'), 0) AS open FROM executions")[0]!,
      ); // prettier-ignore
      return per.every((c) => c.open === 0 && c.n === per[0]!.n && c.n >= FIRES) ? per[0]!.n : undefined;
    }, { timeoutMs: 60_000, intervalMs: 200 }); // prettier-ignore
    for (const instance of ['p1', 'p2', 'b1', 'b2']) await projectedAll(nc, instance, 'everything');

    // One execution per fire: one row per fire time, each with one ok run per agent.
    const executions = sqlRows<{ fire_at: string; n: number; total: number; ok: number; status: string }>(
      dbs.p1,
      'SELECT fire_at, COUNT(*) AS n, MAX(total) AS total, MAX(ok) AS ok, MAX(status) AS status FROM executions GROUP BY fire_at ORDER BY fire_at',
    ); // prettier-ignore
    assert.equal(executions.length, fires);
    for (const e of executions) assert.deepEqual([e.n, e.total, e.ok, e.status], [1, 2, 2, 'ok'], e.fire_at);
    for (let i = 1; i < executions.length; i++)
      assert.equal(
        Date.parse(executions[i]!.fire_at) - Date.parse(executions[i - 1]!.fire_at),
        1000,
        'no fire missed',
      );
    assert.equal(
      sqlRows(dbs.p1, "SELECT id FROM audit WHERE action = 'run.start'").length,
      fires,
      'one run.start receipt per fire',
    );

    // Identical read models, row for row.
    const tables = ['executions', 'runs', 'results', 'run_events', 'audit', 'projection_errors'] as const;
    const reference = dumpTables(dbs.p1, tables);
    for (const db of [dbs.p2, dbs.b1, dbs.b2]) assert.deepEqual(dumpTables(db, tables), reference, db);

    // And the two backends answer the same.
    const auth = await AuthStore.open(nc);
    await auth.createUser(
      { name: 'viewer', role: 'viewer', password: 'correct horse battery staple' },
      'test',
    );
    const { token } = await auth.createToken({ user: 'viewer', role: 'viewer', label: 'test' }, 'test');
    const answers = await Promise.all(
      urls.map(async (u) => {
        const res = await fetch(`${u}/api/runs?limit=100`, { headers: { authorization: `Bearer ${token}` } });
        assert.equal(res.status, 200);
        return (await res.json()) as { items: { execId: string; status: string }[] };
      }),
    );
    assert.equal(answers[0]!.items.length, fires);
    assert.deepEqual(answers[0], answers[1]);
    for (const b of backends) assert.equal(b.child.exitCode, null, b.output());
  });
});
