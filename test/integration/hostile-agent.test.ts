// Hostile input at the agent: malformed and oversized exec requests on exec.pc.<pc> and exec.all,
// and malformed kill and ping commands on ctl.<pc>.* while a script runs. Garbage requests must be
// recorded as `invalid_request` obs events and acked (never pinning the consumer), every valid
// request interleaved with them must run exactly once, and the agent must keep answering control
// commands. The counts go to the test output.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Agent } from '../../src/agent/index.js';
import { STREAMS, ensureTopology } from '../../src/kv/index.js';
import {
  RESERVED_JOB_ID,
  encodeExecRequest,
  inlineOutputBytes,
  newId,
  parseObsEvent,
  type ObsEvent,
} from '../../src/wire/index.js';
import { collectResults, startAgent } from '../helpers/fleet.js';
import {
  countKinds,
  field,
  fuzzSeed,
  malformedPayloads,
  oversizedPayload,
  roomyTopology,
  seededRng,
  toleratedPayloads,
  type JsonObject,
  type MessageShape,
} from '../helpers/hostile.js';
import { startTestServer, type TestServer } from '../helpers/nats-server.js';
import { waitFor } from '../helpers/wait.js';

const PC = 'pc-hostile';
const enc = new TextEncoder();
const dec = new TextDecoder();

/** A valid ad-hoc request (the reserved `exec` job: no catalog entry needed) as JSON. */
function execRequest(script: string, extra: { requestId?: string; deadlineAt?: string } = {}): JsonObject {
  const now = Date.now();
  const data = encodeExecRequest({
    v: 1,
    requestId: extra.requestId ?? newId(),
    execId: newId(),
    jobId: RESERVED_JOB_ID,
    jobVersion: '1',
    jobRevision: 1,
    trigger: { kind: 'adhoc', actor: 'fuzz' },
    script: { kind: 'inline', shell: 'sh', body: script },
    timeoutMs: 60_000,
    deadlineAt: extra.deadlineAt ?? new Date(now + 10 * 60_000).toISOString(),
    runAs: 'system',
    target: { kind: 'pc', pcId: PC },
    createdAt: new Date(now).toISOString(),
  });
  return JSON.parse(dec.decode(data)) as JsonObject;
}

const EXEC_REQUEST: MessageShape = {
  valid: () => execRequest('echo ok'),
  required: ['requestId', 'execId', 'jobId', 'jobVersion', 'jobRevision', 'trigger', 'script', 'timeoutMs', 'deadlineAt', 'runAs', 'target', 'createdAt'],
  bounded: ['requestId', 'execId', 'jobId'],
}; // prettier-ignore

/** Every obs event of the pc so far. */
async function obsEvents(nc: NatsConnection): Promise<ObsEvent[]> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(STREAMS.obsEvents, { subjects_filter: `obs.${PC}` });
  const total = Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
  const out: ObsEvent[] = [];
  if (total === 0) return out;
  const c = await jetstream(nc).consumers.get(STREAMS.obsEvents, { filter_subjects: [`obs.${PC}`] });
  while (out.length < total) {
    let got = 0;
    for await (const m of await c.fetch({ max_messages: total - out.length, expires: 2_000 })) {
      got++;
      out.push(parseObsEvent(m.data));
    }
    if (got === 0) break;
  }
  return out;
}

async function ping(
  nc: NatsConnection,
  payload: Uint8Array = new Uint8Array(),
): Promise<{ pcId: string; running: number }> {
  const reply = await nc.request(`ctl.${PC}.ping`, payload, { timeout: 3_000 });
  return reply.json();
}

describe('hostile input: the agent', () => {
  let server: TestServer;
  let nc: NatsConnection;
  let agent: Agent;
  const seed = fuzzSeed();
  before(async () => {
    server = await startTestServer();
    nc = await server.connect('hostile-agent');
    await ensureTopology(nc, roomyTopology());
    agent = await startAgent(server.url, PC);
  });
  after(async () => {
    await agent.stop();
    await server.stop();
  });

  test('malformed exec requests are recorded as invalid_request and acked; valid ones run exactly once', async (t) => {
    t.diagnostic(`seed ${seed} (replay with BATON_FUZZ_SEED=${seed})`);
    const r = seededRng(seed);
    const js = jetstream(nc);
    const maxPayload = nc.info!.max_payload;
    const subjects = [`exec.pc.${PC}`, 'exec.all'];
    const invalid = malformedPayloads(r, EXEC_REQUEST, maxPayload);
    const tolerated = toleratedPayloads(r, EXEC_REQUEST);
    const valid = Array.from({ length: 8 }, (_, i) => execRequest(`echo ok-${i}`));
    // Right shape, hostile meaning: a request published twice (no dedup id) runs once; one past
    // its deadline is a skipped result, not silence.
    const twice = execRequest('echo twice');
    const late = execRequest('echo late', { deadlineAt: new Date(Date.now() - 1_000).toISOString() });
    const ops = r.shuffle([
      ...invalid.map((c) => ({ data: c.data, invalid: true })),
      ...[...tolerated.map((c) => c.data), ...valid.map((m) => enc.encode(JSON.stringify(m)))].map((data) => ({ data, invalid: false })),
      ...[twice, twice, late].map((m) => ({ data: enc.encode(JSON.stringify(m)), invalid: false })),
    ]); // prettier-ignore
    for (const op of ops) await js.publish(r.pick(subjects), op.data);
    await assert.rejects(js.publish(`exec.pc.${PC}`, oversizedPayload(maxPayload)), /max_payload/);
    // After all the garbage, one more valid request: the agent is still taking work.
    const last = execRequest('echo last');
    await js.publish(`exec.pc.${PC}`, enc.encode(JSON.stringify(last)));

    const runIds = [...tolerated.map((c) => field(c.base!, 'requestId')), ...valid.map((m) => field(m, 'requestId')), field(last, 'requestId')]; // prettier-ignore
    const results = await collectResults(
      nc,
      [...runIds, field(twice, 'requestId'), field(late, 'requestId')],
      runIds.length + 2,
      30_000,
    );
    for (const res of results.filter((x) => runIds.includes(x.requestId)))
      assert.equal(res.status, 'ok', JSON.stringify(res));
    assert.deepEqual(results.find((x) => x.requestId === twice['requestId'])?.status, 'ok');
    assert.deepEqual([results.find((x) => x.requestId === late['requestId'])?.status, results.find((x) => x.requestId === late['requestId'])?.reason], ['skipped', 'deadline_passed']); // prettier-ignore
    assert.equal(
      Buffer.from(
        inlineOutputBytes(results.find((x) => x.requestId === last['requestId'])!.stdout)!,
      ).toString(),
      'last\n',
    );

    const jsm = await jetstreamManager(nc);
    const info = await waitFor('the agent consumer to have nothing pending or unacked', async () => {
      const i = await jsm.consumers.info(STREAMS.exec, `agent-${PC}`);
      return i.num_pending === 0 && i.num_ack_pending === 0 ? i : false;
    });
    const recorded = await waitFor('an invalid_request event per malformed request', async () => {
      const n = (await obsEvents(nc)).filter((e) => e.kind === 'invalid_request').length;
      return n >= invalid.length ? n : false;
    });
    assert.equal(recorded, invalid.length);
    // The request published twice ran once: one result stored for it.
    const stored = await jsm.streams.info(STREAMS.results, {
      subjects_filter: `results.${PC}.${field(twice, 'requestId')}`,
    });
    assert.equal(
      Object.values(stored.state.subjects ?? {}).reduce((a, b) => a + b, 0),
      1,
    );
    t.diagnostic(
      `agent: ${recorded} malformed requests recorded as invalid_request, ${results.length} valid requests answered (${tolerated.length} with unknown fields, 1 duplicate run once, 1 past its deadline skipped), 0 lost, 0 crashes, 1 oversized refused at publish, pending ${info.num_pending}, unacked ${info.num_ack_pending}`,
    );
    t.diagnostic(`cases by kind: ${JSON.stringify(countKinds(invalid))}`);
  });

  test('malformed kill and ping commands while a script runs: ignored, and the agent keeps answering', async (t) => {
    const r = seededRng(seed + 1);
    const maxPayload = nc.info!.max_payload;
    const sleeper = execRequest('sleep 30');
    await jetstream(nc).publish(`exec.pc.${PC}`, enc.encode(JSON.stringify(sleeper)));
    await waitFor('the script to run', async () => (await ping(nc)).running === 1);

    const KILL: MessageShape = {
      valid: () => ({ execId: `not-running-${r.int(1e9)}` }),
      required: ['execId'],
      bounded: ['execId'],
    };
    const kills = [...malformedPayloads(r, KILL, maxPayload), ...toleratedPayloads(r, KILL)];
    for (const c of kills) {
      nc.publish(`ctl.${PC}.kill`, c.data);
      nc.publish('ctl.all.kill', c.data);
    }
    assert.throws(() => nc.publish(`ctl.${PC}.kill`, oversizedPayload(maxPayload)), /max_payload/);
    let pings = 0;
    for (const c of r.shuffle(kills).slice(0, 10)) {
      assert.deepEqual(await ping(nc, c.data), { pcId: PC, running: 1 });
      pings++;
    }
    // The garbage killed nothing; a well-formed kill still works.
    const reply = await nc.request(`ctl.${PC}.kill`, JSON.stringify({ execId: sleeper['execId'] }), {
      timeout: 3_000,
    });
    assert.deepEqual(reply.json(), { pcId: PC, killed: 1 });
    const [killed] = await collectResults(nc, [field(sleeper, 'requestId')], 1);
    assert.equal(killed?.status, 'killed');
    const after = execRequest('echo after');
    await jetstream(nc).publish(`exec.pc.${PC}`, enc.encode(JSON.stringify(after)));
    assert.equal((await collectResults(nc, [field(after, 'requestId')], 1))[0]?.status, 'ok');
    t.diagnostic(
      `agent control: ${kills.length * 2} malformed kill commands ignored (on ctl.${PC}.kill and ctl.all.kill), ${pings} pings with garbage payloads answered, 0 scripts killed by garbage, 1 oversized refused at publish, 0 crashes`,
    );
  });
});
