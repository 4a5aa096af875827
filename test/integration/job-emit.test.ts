// Jobs that feed the timeline and the inventory (`emit: events`, `inventory: true`): a real agent
// runs them, the outbox publishes what stdout carried, a real projector stores it, and the CLI
// reads it back, exactly once even when the same event is published again.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { EXIT } from '../../src/cli/exit-codes.js';
import { Projector } from '../../src/projector/index.js';
import { JobStore, STREAMS } from '../../src/kv/index.js';
import {
  encodeObsEvent,
  inventorySubject,
  obsSubject,
  parseManifestFile,
  type ExecResult,
} from '../../src/wire/index.js';
import {
  agentReady,
  collectResults,
  runJob,
  spawnAgent,
  startAgent,
  type AgentProcess,
} from '../helpers/fleet.js';
import { startStack, type TestStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

type TimelineRow = { id: string; kind: string; source: string; at: string; details: Record<string, unknown> };

/** Stores a job with extra top-level YAML (emit, inventory) the way `baton apply` would. */
async function putEmitJob(nc: NatsConnection, id: string, top: string, script: string): Promise<void> {
  const yaml = `kind: job\nid: ${id}\nversion: "1"\n${top}\nexecute:\n  shell: sh\n  timeout: 30s\n  script: |\n${script
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n')}\n`;
  const job = parseManifestFile(yaml, `${id}.yaml`).jobs[0]!;
  const store = await JobStore.open(nc);
  const current = await store.get(id);
  await store.put(job.manifest, job.yaml, current?.revision ?? null, {
    actor: { kind: 'user', name: 'test' },
    source: { via: 'apply' },
  });
}

async function runOn(nc: NatsConnection, jobId: string, pcId: string): Promise<ExecResult> {
  const run = await runJob(nc, jobId, [{ kind: 'pc', pcId }]);
  const [r] = await collectResults(nc, run.requestIds, 1);
  return r!;
}

describe('job-emitted events and inventory', () => {
  let s: TestStack;
  let nc: NatsConnection;
  let p: Projector;
  let db: string;
  const agents: { stop(): Promise<void> }[] = [];
  const PC = 'pc-emit';
  const events = (kinds: string) => s.json<TimelineRow[]>(['events', PC, '--db', db, '--kind', kinds]);
  before(async () => {
    s = await startStack();
    nc = await s.server.connect('emit-test');
    db = join(s.dir, 'emit.db');
    p = new Projector(nc, { dbPath: db });
    await p.start();
    agents.push(await startAgent(s.server.url, PC));
  });
  after(async () => {
    for (const a of agents) await a.stop();
    await p.stop();
    await s.stop();
  });

  test('valid event lines reach the timeline once each; other lines are counted', async () => {
    await putEmitJob(
      nc,
      'emitter',
      'emit: events',
      [
        `echo '{"kind":"disk_low","payload":{"mount":"/","freePct":4}}'`,
        `echo '{"kind":"backup_done","id":"nightly-1","at":"2026-01-01T00:00:00Z"}'`,
        `echo '{"kind":"Not A Kind"}'`,
        `echo 'checking disks... done'`,
        `echo ''`,
      ].join('\n'),
    );
    const r = await runOn(nc, 'emitter', PC);
    assert.equal(r.status, 'ok');
    assert.deepEqual(r.emitted, { events: 2, invalid: 2 });
    const shown = await waitFor('the result in the projection', async () => {
      const res = await s.cli(['results', 'show', r.resultId, '--db', db]);
      return res.code === 0 ? res.stdout : undefined;
    });
    assert.match(shown, /emitted 2, invalid 2/);

    const rows = await waitFor('the emitted events on the timeline', async () => {
      const got = await events('disk_low,backup_done');
      return got.length === 2 ? got : undefined;
    });
    const byKind = Object.fromEntries(rows.map((e) => [e.kind, e]));
    assert.equal(byKind['disk_low']?.source, 'job');
    assert.deepEqual(byKind['disk_low']?.details, { freePct: 4, mount: '/' });
    assert.equal(byKind['disk_low']?.id, `job.${r.requestId}.${PC}.1`);
    assert.equal(byKind['disk_low']?.at, r.finishedAt);
    assert.equal(byKind['backup_done']?.id, `job.${PC}.nightly-1`);
    assert.equal(byKind['backup_done']?.at, '2026-01-01T00:00:00.000Z');

    // The same event published again past JetStream's dedup (no msg id): the projector's upsert
    // by event id keeps one row. A marker published after it tells when the projector got there.
    const again = rows.find((e) => e.kind === 'disk_low')!;
    const js = jetstream(nc);
    await js.publish(
      obsSubject(PC),
      encodeObsEvent({
        v: 1,
        id: again.id,
        pcId: PC,
        at: again.at,
        kind: 'disk_low',
        source: 'job',
        payload: {},
      }),
    );
    await js.publish(
      obsSubject(PC),
      encodeObsEvent({
        v: 1,
        id: 'marker-1',
        pcId: PC,
        at: new Date().toISOString(),
        kind: 'marker',
        source: 'job',
      }),
      { msgID: 'marker-1' },
    );
    await waitFor('the marker', async () => (await events('marker')).length === 1);
    assert.deepEqual(
      (await events('disk_low,backup_done')).map((e) => e.id).sort(),
      rows.map((e) => e.id).sort(),
    );

    // A second run: the event with its own id is the same event; the one without is a new one.
    const r2 = await runOn(nc, 'emitter', PC);
    assert.deepEqual(r2.emitted, { events: 2, invalid: 2 });
    await waitFor('the second disk_low', async () => (await events('disk_low')).length === 2);
    await js.publish(
      obsSubject(PC),
      encodeObsEvent({
        v: 1,
        id: 'marker-2',
        pcId: PC,
        at: new Date().toISOString(),
        kind: 'marker',
        source: 'job',
      }),
      { msgID: 'marker-2' },
    );
    await waitFor('the second marker', async () => (await events('marker')).length === 2);
    assert.equal((await events('backup_done')).length, 1);
  });

  test('events are read from a spilled stdout too, and at most 10,000 per run', async () => {
    // 10,003 valid lines (padded past the 256 KiB inline limit), then text.
    await putEmitJob(
      nc,
      'chatty',
      'emit: events',
      [
        'i=1',
        'while [ $i -le 10003 ]; do',
        `  echo "{\\"kind\\":\\"tick\\",\\"payload\\":{\\"i\\":$i,\\"pad\\":\\"................\\"}}"`,
        '  i=$((i+1))',
        'done',
        'echo the end',
      ].join('\n'),
    );
    const r = await runOn(nc, 'chatty', PC);
    assert.equal(r.status, 'ok');
    assert.ok(r.stdout.object, 'stdout overflowed to the object store');
    assert.deepEqual(r.emitted, { events: 10_000, invalid: 4, capped: 3 });
    await waitFor(
      'the 10,000 ticks on the timeline',
      async () =>
        (await s.json<TimelineRow[]>(['events', PC, '--db', db, '--kind', 'tick', '--limit', '20000']))
          .length === 10_000,
      { timeoutMs: 30_000 },
    );
  });

  test('the agent sends its built-in inventory at start', async () => {
    type Snap = { id: string; source: string; jobId: string | null; data: Record<string, unknown> };
    const builtin = await waitFor('the built-in snapshot', async () => {
      const res = await s.cli(['inventory', PC, '--db', db, '--json']);
      return res.code === 0
        ? (JSON.parse(res.stdout) as Snap[]).find((x) => x.source === 'builtin')
        : undefined;
    });
    assert.equal(builtin.jobId, null);
    assert.match(builtin.id, new RegExp(`^inv\\.builtin\\.${PC}\\.\\d+$`));
    for (const key of ['os', 'kernel', 'cpu', 'memory', 'disks']) assert.ok(key in builtin.data, key);
    assert.ok(Number((builtin.data['memory'] as { totalBytes: number }).totalBytes) > 0);
    const table = await s.cli(['inventory', PC, '--db', db]);
    assert.match(table.stdout, /builtin at .*\n[\s\S]*memory\.totalBytes/);
  });

  test('a job without emit publishes nothing from its stdout', async () => {
    await putEmitJob(nc, 'plain', 'tags: []', `echo '{"kind":"should_not_appear"}'`);
    const r = await runOn(nc, 'plain', PC);
    assert.equal(r.status, 'ok');
    assert.equal(r.emitted, undefined);
  });

  test('an inventory job makes snapshots; the history lists what changed', async () => {
    const facts = join(s.dir, 'facts.json');
    await putEmitJob(nc, 'facts', 'inventory: true', `cat '${facts}'`);
    await writeFile(facts, JSON.stringify({ os: { name: 'linux', kernel: '6.1' }, disks: ['sda'], ram: 8 }));
    const r1 = await runOn(nc, 'facts', PC);
    assert.deepEqual(r1.emitted, { events: 1, invalid: 0 });
    type Snap = { id: string; source: string; jobId: string; data: Record<string, unknown> };
    const first = await waitFor('the first snapshot', async () => {
      const res = await s.cli(['inventory', PC, '--job', 'facts', '--db', db, '--json']);
      return res.code === 0 ? (JSON.parse(res.stdout) as Snap[]) : undefined;
    });
    assert.deepEqual(first, [
      {
        id: `inv.${r1.requestId}.${PC}`,
        at: r1.finishedAt,
        source: 'job',
        jobId: 'facts',
        data: { os: { name: 'linux', kernel: '6.1' }, disks: ['sda'], ram: 8 },
      },
    ]);

    await writeFile(
      facts,
      JSON.stringify({ os: { name: 'linux', kernel: '6.6' }, disks: ['sda', 'sdb'], gpu: 'none' }),
    );
    const r2 = await runOn(nc, 'facts', PC);
    assert.deepEqual(r2.emitted, { events: 1, invalid: 0 });
    type Entry = { id: string; initial: boolean; changes: unknown[] };
    const history = await waitFor('the second snapshot', async () => {
      const h = await s.json<Entry[]>(['inventory', PC, '--history', '--job', 'facts', '--db', db]);
      return h.length === 2 ? h : undefined;
    });
    assert.deepEqual(
      history.map((e) => [e.id, e.initial]),
      [
        [`inv.${r1.requestId}.${PC}`, true],
        [`inv.${r2.requestId}.${PC}`, false],
      ],
    );
    assert.deepEqual(history[1]?.changes, [
      { field: 'disks', change: 'changed', from: ['sda'], to: ['sda', 'sdb'] },
      { field: 'gpu', change: 'added', to: 'none' },
      { field: 'os.kernel', change: 'changed', from: '6.1', to: '6.6' },
      { field: 'ram', change: 'removed', from: 8 },
    ]);
    const table = await s.cli(['inventory', PC, '--history', '--job', 'facts', '--db', db]);
    assert.equal(table.code, 0);
    assert.match(table.stdout, /changed\s+os\.kernel\s+6\.1\s+6\.6/);

    // Not one JSON object: the result says so, and no snapshot is made.
    await writeFile(facts, 'kernel=6.6\n');
    const r3 = await runOn(nc, 'facts', PC);
    assert.equal(r3.status, 'ok');
    assert.deepEqual(r3.emitted, { events: 0, invalid: 1 });
    await waitFor('the third result in the projection', async () => {
      return (await s.cli(['results', 'show', r3.resultId, '--db', db])).code === 0;
    });
    const last = await jetstreamManager(nc).then((jsm) =>
      jsm.streams.getMessage(STREAMS.inventory, { last_by_subj: inventorySubject(PC) }),
    );
    assert.equal(last?.json<{ id: string }>()?.id, `inv.${r2.requestId}.${PC}`);
    assert.equal(
      (await s.json<Entry[]>(['inventory', PC, '--history', '--job', 'facts', '--db', db])).length,
      2,
    );
    assert.equal((await s.cli(['inventory', 'pc-nobody', '--db', db])).code, EXIT.notFound);
  });
});

describe('job-emitted events under faults', () => {
  let s: TestStack;
  let work: string;
  const children: AgentProcess[] = [];
  before(async () => {
    s = await startStack();
    work = await mkdtemp(join(tmpdir(), 'baton-emit-faults-'));
  });
  after(async () => {
    for (const c of children) c.child.kill('SIGKILL');
    await s.stop();
  });

  test('agent SIGKILLed after the run, before the publish: events and result arrive once', async () => {
    const nc = await s.server.connect();
    const PC = 'pc-emit-crash';
    await putEmitJob(
      nc,
      'crashy',
      'emit: events',
      `sleep 1\necho '{"kind":"found_it","id":"x1"}'\necho '{"kind":"found_more"}'`,
    );
    const dataDir = join(work, 'agent');
    const first = spawnAgent(s.server.url, PC, dataDir);
    children.push(first);
    await agentReady(first);
    const run = await runJob(nc, 'crashy', [{ kind: 'pc', pcId: PC }]);
    await waitFor('the script to start', () => existsSync(join(dataDir, 'work', run.requestIds[0]!)));
    await s.server.kill(); // nothing can be published now
    const outbox = join(dataDir, 'outbox');
    await waitFor('the result to be in the outbox', () =>
      readdirSync(outbox).some((f) => f.endsWith('.json')),
    );
    first.child.kill('SIGKILL');
    await first.exited;
    await s.server.start();

    const second = spawnAgent(s.server.url, PC, dataDir);
    children.push(second);
    const nc2 = await s.server.connect();
    const [r] = await collectResults(nc2, run.requestIds, 1);
    assert.deepEqual(r?.emitted, { events: 2, invalid: 0 });
    await waitFor('the outbox to empty', () => !readdirSync(outbox).some((f) => f.endsWith('.json')));
    // Published before the result, so they are in the stream by now: once each.
    const c = await jetstream(nc2).consumers.get(STREAMS.obsEvents, { filter_subjects: [obsSubject(PC)] });
    const kinds: string[] = [];
    for await (const m of await c.fetch({ max_messages: 100, expires: 1_000 })) {
      const e = m.json<{ kind: string; source: string }>();
      if (e.source === 'job') kinds.push(e.kind);
    }
    assert.deepEqual(kinds.sort(), ['found_it', 'found_more']);
    second.child.kill('SIGTERM');
    await second.exited;
  });
});
