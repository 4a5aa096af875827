// A real 3-node JetStream cluster (random ports, loopback): the topology bootstrap with R3, and a
// fan-out that survives SIGKILL of the node leading the RESULTS stream, with 50 real agents and a
// projector, each connected to all three nodes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Agent } from '../../src/agent/index.js';
import { ensureTopology, topologySpec } from '../../src/kv/index.js';
import { Projector, openReadOnlyDb } from '../../src/projector/index.js';
import { silentLogger } from '../../src/shared/logger.js';
import { collectResults, runJob } from '../helpers/fleet.js';
import { putJob } from '../helpers/jobs.js';
import { CLUSTER_TOPOLOGY, startTestCluster, type TestCluster } from '../helpers/nats-cluster.js';
import { waitFor } from '../helpers/wait.js';

const AGENTS = 50;

/** Results the RESULTS stream holds for one request (a duplicate would show here). */
async function storedResults(jsm: JetStreamManager, requestId: string): Promise<number> {
  const info = await jsm.streams.info('RESULTS', { subjects_filter: `results.*.${requestId}` });
  return Object.values(info.state.subjects ?? {}).reduce((a, n) => a + n, 0);
}

function query<T>(dbPath: string, sql: string, ...args: unknown[]): T[] {
  const db = openReadOnlyDb(dbPath);
  try {
    return db.prepare(sql).all(...args) as T[];
  } finally {
    db.close();
  }
}

describe('a 3-node JetStream cluster', () => {
  let c: TestCluster;
  let work: string;
  before(async () => {
    c = await startTestCluster();
    work = await mkdtemp(join(tmpdir(), 'baton-cluster-work-'));
  });
  after(async () => {
    await c.stop();
    await rm(work, { recursive: true, force: true });
  });

  test('the bootstrap replicates every stream, bucket and object store on 3 nodes, and reconciles replicas', async () => {
    const nc = await c.connect();
    const jsm = await jetstreamManager(nc);
    for (const spec of topologySpec(CLUSTER_TOPOLOGY)) {
      const info = await jsm.streams.info(spec.stream);
      assert.equal(info.config.num_replicas, 3, spec.stream);
      assert.equal((info.cluster?.replicas ?? []).length, 2, `${spec.stream} has two followers`);
    }
    // Drift: someone scaled EXEC down to one replica; the bootstrap says so and scales it back.
    const exec = await jsm.streams.info('EXEC');
    await jsm.streams.update('EXEC', { ...exec.config, num_replicas: 1 });
    const changes = await ensureTopology(nc, CLUSTER_TOPOLOGY);
    const execChange = changes.find((ch) => ch.stream === 'EXEC');
    assert.deepEqual(execChange && { action: execChange.action, changes: execChange.changes }, {
      action: 'updated',
      changes: ['num_replicas: 1 -> 3'],
    });
    assert.ok(changes.filter((ch) => ch.stream !== 'EXEC').every((ch) => ch.action === 'unchanged'));
    await waitFor(
      'EXEC to have two followers again',
      async () => ((await jsm.streams.info('EXEC')).cluster?.replicas ?? []).length === 2,
    );
  });

  test('SIGKILL of the RESULTS leader mid-fan-out: every result projected once, agents move, the next run works', async (t) => {
    const nc = await c.connect('test');
    const jsm = await jetstreamManager(nc);
    const dbPath = join(work, 'projection.db');
    const projector = new Projector(await c.connect('projector'), { dbPath, emitPresence: false });
    const agents: { agent: Agent; nc: NatsConnection }[] = [];
    // Also when an assertion fails: live agents would keep the test process running.
    t.after(async () => {
      await Promise.all(agents.map((a) => a.agent.stop()));
      await projector.stop();
    });
    await projector.start();

    // Each agent has its own connection to all three nodes (the client picks one at random), so
    // the test can see which node each one is on.
    // Started 10 at a time: each start creates an R3 consumer through the meta leader, and 50 at
    // once on a loaded 2-core machine can exceed the 5 s JetStream API timeout.
    for (let batch = 0; batch < AGENTS; batch += 10) {
      await Promise.all(
        Array.from({ length: 10 }, async (_, k) => {
          const pcId = `pc-${String(batch + k).padStart(2, '0')}`;
          const anc = await c.connect(`agent-${pcId}`);
          const agent = new Agent({
            pcId,
            servers: c.urls,
            nc: anc,
            dataDir: join(work, pcId),
            logger: silentLogger,
            stopGraceMs: 2_000,
            builtinInventory: false,
          });
          agents.push({ agent, nc: anc });
          await agent.start();
        }),
      );
    }

    // Scripts end at random times over about 3 s, so results are published before, during and
    // after the kill.
    await putJob(nc, 'spread', 'sleep "$((RANDOM % 3)).$((RANDOM % 10))"\necho "done $BATON_PC_ID"', {
      shell: 'bash',
    });
    const leader = await c.leaderOf('RESULTS', nc);
    const victim = c.cluster.indexOf(leader);
    const onVictim = agents.filter((a) => a.nc.info?.server_name === leader).length;

    const run = await runJob(nc, 'spread', [{ kind: 'all' }]);
    // Watching starts before the kill: an ordered consumer that exists recovers from the leader
    // change by itself, while creating one needs a stream leader (seconds of election after a
    // SIGKILL, since followers only notice by missed heartbeats).
    const collected = collectResults(nc, run.requestIds, AGENTS, 90_000);
    const storedBeforeKill = await waitFor('the first results to be stored', async () => {
      const n = await storedResults(jsm, run.requestIds[0]!);
      return n >= 5 && n;
    }, { timeoutMs: 30_000 }); // prettier-ignore
    await c.cluster.kill(victim);
    const killedAt = Date.now();

    const results = await collected;
    const collectedMs = Date.now() - killedAt;
    assert.equal(new Set(results.map((r) => r.pcId)).size, AGENTS, 'one result per agent');
    assert.deepEqual(new Set(results.map((r) => r.status)), new Set(['ok']));
    const newLeader = await c.leaderOf('RESULTS', nc);
    assert.notEqual(newLeader, leader);
    assert.equal(await storedResults(jsm, run.requestIds[0]!), AGENTS, 'no result stored twice');

    await waitFor('the projector to count every result', () => {
      const [e] = query<{ ok: number; total: number }>(dbPath, 'SELECT ok, total FROM executions WHERE exec_id = ?', run.execId);
      return e?.ok === AGENTS && e.total === AGENTS;
    }, { timeoutMs: 30_000, intervalMs: 100 }); // prettier-ignore
    const projectedMs = Date.now() - killedAt;
    const rows = query<{ pc_id: string; n: number }>(dbPath, 'SELECT pc_id, COUNT(*) AS n FROM results WHERE exec_id = ? GROUP BY pc_id', run.execId); // prettier-ignore
    assert.equal(rows.length, AGENTS);
    assert.ok(
      rows.every((r) => r.n === 1),
      'each agent projected exactly once',
    );

    // Agents that were on the dead node reconnected to a surviving one.
    await waitFor('every agent to be on a surviving node', () =>
      agents.every((a) => a.nc.isClosed() === false && a.nc.info?.server_name !== leader),
    );

    // Service continues: a new run reaches every agent and is projected.
    const next = await runJob(nc, 'spread', [{ kind: 'all' }]);
    const again = await collectResults(nc, next.requestIds, AGENTS, 60_000);
    assert.equal(new Set(again.map((r) => r.pcId)).size, AGENTS);
    await waitFor('the projector to count the second run', () => {
      const [e] = query<{ ok: number }>(dbPath, 'SELECT ok FROM executions WHERE exec_id = ?', next.execId);
      return e?.ok === AGENTS;
    }, { timeoutMs: 30_000, intervalMs: 100 }); // prettier-ignore

    // The killed node comes back on its ports and store and catches up as a current replica.
    await c.cluster.start(victim);
    await waitFor('RESULTS to have two current followers again', async () => {
      const info = await jsm.streams.info('RESULTS');
      const followers = info.cluster?.replicas ?? [];
      return followers.length === 2 && followers.every((r) => r.current);
    }, { timeoutMs: 30_000, intervalMs: 200 }); // prettier-ignore

    // Reported so a run log shows what the kill hit (numbers vary with the random placement).
    t.diagnostic(
      `cluster kill: leader ${leader} -> ${newLeader}; ${onVictim} of ${AGENTS} agents were on it; ` +
        `${storedBeforeKill} results stored before the kill; all ${AGENTS} seen ${collectedMs} ms and ` +
        `projected ${projectedMs} ms after it`,
    );
  });
});
