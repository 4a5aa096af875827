// Hostile input at the projector: malformed, oversized and misaddressed messages on every stream it
// projects (RESULTS, EVENTS, OBS_EVENTS, INVENTORY, AUDIT) and in the agents_state bucket (the
// agents' heartbeat state), interleaved with valid ones in a seeded random order. Each malformed
// message must be recorded in projection_errors and acked, each valid one projected, and every
// durable consumer must end with nothing pending or unacked. The counts go to the test output.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { BUCKETS, ensureTopology } from '../../src/kv/index.js';
import { AGENTS_KV_SOURCE, Projector, durableName, openReadOnlyDb } from '../../src/projector/index.js';
import { encodeAuditEvent, encodeInventory, encodeObsEvent } from '../../src/wire/index.js';
import {
  countKinds,
  field,
  fuzzSeed,
  malformedPayloads,
  oversizedPayload,
  roomyTopology,
  seededRng,
  toleratedPayloads,
  type HostileCase,
  type JsonObject,
  type MessageShape,
} from '../helpers/hostile.js';
import { resultMessage, runEventMessage } from '../helpers/projector-fixtures.js';
import { startTestServer, type TestServer } from '../helpers/nats-server.js';
import { waitFor } from '../helpers/wait.js';

const dec = new TextDecoder();
const AT = '2025-01-02T03:04:05.000Z';
/** Valid messages per source, besides the tolerated ones with unknown fields. */
const VALID_PER_SOURCE = 15;

/** One source the projector reads: how its messages look, where they go, where they land. */
type Source = {
  name: string;
  shape: MessageShape;
  /** Where a valid message (or one derived from it) belongs. */
  subjectOf(msg: JsonObject): string;
  /** Valid messages published on a subject that does not match them: recorded as errors. */
  misaddressed(msg: JsonObject): string[];
  /** The table a valid message lands in, and the `projection_errors.stream` of its errors. */
  table: string;
  errorStream: string;
};

let n = 0;
const uniq = () => `${++n}`;
const parse = (data: Uint8Array) => JSON.parse(dec.decode(data)) as JsonObject;

const SOURCES: Source[] = [
  {
    name: 'results',
    shape: {
      valid: () => {
        const i = uniq();
        return parse(resultMessage({ execId: `FZ-R${i}`, pcId: 'pc-fuzz', requestId: `req-${i}` }).data);
      },
      required: ['resultId', 'requestId', 'execId', 'pcId', 'jobId', 'jobVersion', 'status', 'stdout', 'finishedAt', 'durationMs'],
      bounded: ['requestId', 'pcId', 'jobId'],
    },
    subjectOf: (m) => `results.${field(m, 'pcId')}.${field(m, 'requestId')}`,
    misaddressed: (m) => [`results.pc-other.${field(m, 'requestId')}`, `results.pc-fuzz.${field(m, 'requestId')}.extra`],
    table: 'results',
    errorStream: 'RESULTS',
  },
  {
    name: 'events',
    shape: {
      valid: () => parse(runEventMessage(`FZ-E${uniq()}`, 'pc-fuzz', 'started').data),
      required: ['id', 'at', 'pcId', 'requestId', 'execId', 'jobId', 'kind'],
      bounded: ['pcId', 'requestId', 'execId', 'jobId'],
    },
    subjectOf: (m) => `events.${field(m, 'pcId')}.${field(m, 'kind')}`,
    misaddressed: (m) => [`events.pc-fuzz.accepted`, `events.pc-other.${field(m, 'kind')}`],
    table: 'run_events',
    errorStream: 'EVENTS',
  },
  {
    name: 'obs',
    shape: {
      valid: () =>
        parse(encodeObsEvent({ v: 1, id: `obs-${uniq()}`, pcId: 'pc-fuzz', at: AT, kind: 'fuzz_valid', source: 'job', payload: { ok: true } })),
      required: ['id', 'pcId', 'at', 'kind', 'source'],
      bounded: ['pcId', 'kind'],
    },
    subjectOf: (m) => `obs.${field(m, 'pcId')}`,
    misaddressed: () => ['obs.pc-other', 'obs.pc-fuzz.extra'],
    table: 'obs_events',
    errorStream: 'OBS_EVENTS',
  },
  {
    name: 'inventory',
    shape: {
      valid: () =>
        parse(encodeInventory({ v: 1, id: `inv-${uniq()}`, pcId: 'pc-fuzz', at: AT, source: 'builtin', data: { os: 'linux', disks: [{ size: 1 }] } })),
      required: ['id', 'pcId', 'at', 'source', 'data'],
      bounded: ['pcId'],
    },
    subjectOf: (m) => `inventory.${field(m, 'pcId')}`,
    misaddressed: () => ['inventory.pc-other', 'inventory.pc-fuzz.extra'],
    table: 'inventory',
    errorStream: 'INVENTORY',
  },
  {
    name: 'audit',
    shape: {
      valid: () =>
        parse(
          encodeAuditEvent({
            v: 1, id: `audit-${uniq()}`, at: AT, actor: { kind: 'user', name: 'fuzz' }, action: 'job.create',
            target: { kind: 'job', id: 'fuzzed' }, revisionBefore: null, revisionAfter: 1, source: { via: 'cli' }, summary: 'created fuzzed',
          }),
        ),
      required: ['id', 'at', 'actor', 'action', 'target', 'source', 'summary'],
      bounded: [],
    },
    subjectOf: () => 'audit.job.create',
    misaddressed: () => ['audit.job.delete', 'audit.Not-An-Action'],
    table: 'audit',
    errorStream: 'AUDIT',
  },
]; // prettier-ignore

/** The agents' heartbeat state, written by each agent into `agents_state` under its pc id. */
const AGENT_STATE: MessageShape = {
  valid: () => {
    const pcId = `pc-state-${uniq()}`;
    return {
      v: 1, pcId, hostname: 'host', os: 'linux', arch: 'x64', agentVersion: '0.1.0', groups: [],
      startedAt: AT, running: [], lastSeenAt: AT,
    }; // prettier-ignore
  },
  required: ['pcId', 'hostname', 'os', 'arch', 'agentVersion', 'startedAt', 'lastSeenAt'],
  bounded: ['pcId'],
};

type Outcome = { invalid: number; valid: number; tolerated: number; refused: number };

describe('hostile input: the projector', () => {
  let server: TestServer;
  let nc: NatsConnection;
  let dir: string;
  const seed = fuzzSeed();
  before(async () => {
    server = await startTestServer();
    nc = await server.connect('hostile-projector');
    await ensureTopology(nc, roomyTopology());
    dir = await mkdtemp(join(tmpdir(), 'baton-hostile-projector-'));
  });
  after(async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('malformed messages on every projected stream and in agents_state are recorded; valid ones all land', async (t) => {
    t.diagnostic(`seed ${seed} (replay with BATON_FUZZ_SEED=${seed})`);
    const r = seededRng(seed);
    const maxPayload = nc.info!.max_payload;
    const js = jetstream(nc);
    const dbPath = join(dir, 'projection.db');
    const projector = new Projector(nc, { dbPath, instance: 'fuzz', emitPresence: false });
    await projector.start();

    // Every publish of every source, in one seeded random order; a few valid ones go last, so
    // the last thing each consumer sees after the garbage is a message it must project.
    type Op = {
      source: string;
      subject: string;
      data: Uint8Array;
      expect: 'invalid' | 'valid' | 'tolerated';
      kind: string;
    };
    const ops: Op[] = [];
    const tail: Op[] = [];
    const outcome: Record<string, Outcome> = {};
    const kinds: Record<string, number> = {};
    for (const s of SOURCES) {
      const cases: HostileCase[] = [
        ...malformedPayloads(r, s.shape, maxPayload),
        ...toleratedPayloads(r, s.shape),
      ];
      for (const [k, v] of Object.entries(countKinds(cases))) kinds[k] = (kinds[k] ?? 0) + v;
      const fallback = s.subjectOf(s.shape.valid());
      for (const c of cases)
        ops.push({
          source: s.name,
          subject: c.base ? s.subjectOf(c.base) : fallback,
          data: c.data,
          expect: c.expect,
          kind: c.kind,
        });
      for (const subject of s.misaddressed(s.shape.valid())) {
        ops.push({
          source: s.name,
          subject,
          data: new TextEncoder().encode(JSON.stringify(s.shape.valid())),
          expect: 'invalid',
          kind: 'misaddressed',
        });
      }
      for (let i = 0; i < VALID_PER_SOURCE; i++) {
        const m = s.shape.valid();
        (i < 3 ? tail : ops).push({
          source: s.name,
          subject: s.subjectOf(m),
          data: new TextEncoder().encode(JSON.stringify(m)),
          expect: 'valid',
          kind: 'valid',
        });
      }
      outcome[s.name] = { invalid: 0, valid: 0, tolerated: 0, refused: 0 };
    }
    const stateCases = [
      ...malformedPayloads(r, AGENT_STATE, maxPayload),
      ...toleratedPayloads(r, AGENT_STATE),
    ];
    for (let i = 0; i < VALID_PER_SOURCE; i++) {
      const base = AGENT_STATE.valid();
      stateCases.push({
        kind: 'valid',
        data: new TextEncoder().encode(JSON.stringify(base)),
        expect: 'tolerated',
        base,
      });
    }
    outcome['agents_state'] = { invalid: 0, valid: 0, tolerated: 0, refused: 0 };
    for (const [k, v] of Object.entries(countKinds(stateCases))) kinds[k] = (kinds[k] ?? 0) + v;

    const kv: KV = await new Kvm(nc).open(BUCKETS.agentsState);
    const agentOps = stateCases.map((c, i) => ({
      c,
      key: c.base ? field(c.base, 'pcId') : `pc-garbage-${i}`,
    }));
    const shuffled = r.shuffle([...ops.map((o) => ({ o })), ...agentOps.map((a) => ({ a }))]);
    for (const item of [...shuffled, ...tail.map((o) => ({ o }))]) {
      if ('o' in item) {
        const o = item.o;
        await js.publish(o.subject, o.data);
        outcome[o.source]![
          o.expect === 'invalid' ? 'invalid' : o.expect === 'valid' ? 'valid' : 'tolerated'
        ]++;
      } else {
        const { c, key } = item.a;
        await kv.put(key, c.data);
        const o = outcome['agents_state'];
        if (c.expect === 'invalid') o.invalid++;
        else if (c.kind === 'valid') o.valid++;
        else o.tolerated++;
      }
    }
    // Over the server's max_payload: the publisher gets the error, nothing is stored.
    for (const s of SOURCES) {
      await assert.rejects(
        js.publish(s.subjectOf(s.shape.valid()), oversizedPayload(maxPayload)),
        /payload|max/i,
      );
      outcome[s.name]!.refused++;
    }
    await assert.rejects(kv.put('pc-oversized', oversizedPayload(maxPayload)), /payload|max/i);
    outcome['agents_state'].refused++;
    const lastState = AGENT_STATE.valid();
    await kv.put(field(lastState, 'pcId'), new TextEncoder().encode(JSON.stringify(lastState)));
    outcome['agents_state'].valid++;

    const expectedRows = (o: Outcome) => o.valid + o.tolerated;
    const count = (sql: string, ...args: unknown[]) => {
      const db = openReadOnlyDb(dbPath);
      try {
        return (db.prepare(sql).get(...args) as { n: number }).n;
      } finally {
        db.close();
      }
    };
    const agentsDone = () =>
      count('SELECT count(*) AS n FROM agents') === expectedRows(outcome['agents_state']!) &&
      count('SELECT count(*) AS n FROM projection_errors WHERE stream = ?', AGENTS_KV_SOURCE) ===
        outcome['agents_state']!.invalid;
    let progress = '';
    await waitFor(
      'the projector to apply every message',
      async () => {
        const up = await projector.caughtUp();
        progress = `caught up ${up}; stats ${JSON.stringify(projector.stats())}; agents ${count('SELECT count(*) AS n FROM agents')}/${expectedRows(outcome['agents_state']!)}, errors ${count('SELECT stream, count(*) AS n FROM projection_errors GROUP BY stream')}`;
        return up && agentsDone();
      },
      { timeoutMs: 30_000 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}: ${progress}`, { cause: err });
    });
    assert.equal(projector.state, 'running');

    const jsm = await jetstreamManager(nc);
    const lines: string[] = [];
    for (const s of SOURCES) {
      const o = outcome[s.name]!;
      const info = await jsm.consumers.info(s.errorStream, durableName('fuzz', s.errorStream));
      const recorded = count('SELECT count(*) AS n FROM projection_errors WHERE stream = ?', s.errorStream);
      const rows = count(`SELECT count(*) AS n FROM ${s.table}`);
      assert.equal(recorded, o.invalid, `${s.name}: every malformed message recorded once`);
      assert.equal(rows, expectedRows(o), `${s.name}: every valid message projected (nothing lost)`);
      assert.deepEqual(
        [info.num_pending, info.num_ack_pending],
        [0, 0],
        `${s.name}: nothing pending or unacked`,
      );
      lines.push(
        `${s.name}: ${o.invalid} malformed recorded, ${rows} valid projected (${o.tolerated} with unknown fields), ${expectedRows(o) - rows} lost, ${o.refused} oversized refused at publish, pending ${info.num_pending}, unacked ${info.num_ack_pending}`,
      );
    }
    const a = outcome['agents_state'];
    lines.push(
      `agents_state: ${a.invalid} malformed recorded, ${expectedRows(a)} valid projected (${a.tolerated} with unknown fields), 0 lost, ${a.refused} oversized refused at put`,
    );
    await projector.stop();
    const total = Object.values(outcome).reduce((acc, o) => acc + o.invalid, 0);
    t.diagnostic(`projector: ${total} malformed messages recorded, 0 lost, 0 crashes`);
    for (const l of lines) t.diagnostic(l);
    t.diagnostic(`cases by kind: ${JSON.stringify(kinds)}`);
  });
});
