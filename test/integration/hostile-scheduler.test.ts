// Hostile input at the scheduler: its inputs are KV buckets, so garbage is written where an
// operator's tool or a bug could write it: values in `schedules` (malformed, of the wrong type, with
// a cron or time zone that does not parse), and the `fires.<id>` marks and the `freeze` key of
// `scheduler_state`. Each bad schedule value is rejected (logged, not fired) while the valid
// schedule keeps firing once per second; a bad mark does not stop its schedule; a bad freeze
// fails closed (fires are recorded as skipped) and does not stop a scheduler from starting.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { BUCKETS, ensureTopology, readAudit } from '../../src/kv/index.js';
import { Scheduler, type SchedulerLogger } from '../../src/scheduler/index.js';
import { parseRunStart } from '../../src/wire/index.js';
import {
  countKinds,
  field,
  fuzzSeed,
  malformedPayloads,
  roomyTopology,
  seededRng,
  toleratedPayloads,
  type JsonObject,
  type MessageShape,
} from '../helpers/hostile.js';
import { startStack, type TestStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

const JOB = `kind: job
id: tick
version: 1.0.0
execute: { shell: sh, script: "true", timeout: 10s }
`;
const STEADY = `kind: schedule
id: steady
job: tick
target: { pcs: [pc-1] }
cron: "*/1 * * * * *"
`;

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Fire times (ms) of the run.start receipts of a schedule. */
async function fires(nc: NatsConnection, scheduleId: string): Promise<number[]> {
  const { events } = await readAudit(nc, { action: 'run.start', limit: 100_000 });
  return events
    .map((e) => parseRunStart(e.details).trigger)
    .flatMap((t) => (t.kind === 'schedule' && t.scheduleId === scheduleId ? [Date.parse(t.fireAt)] : []))
    .sort((a, b) => a - b);
}

async function skips(nc: NatsConnection, scheduleId: string, reason: string): Promise<number> {
  const { events } = await readAudit(nc, { action: 'schedule.skip', target: scheduleId, limit: 100_000 });
  return events.filter((e) => e.details?.['reason'] === reason).length;
}

/** A logger that keeps what the scheduler reports as errors. */
function capture(): SchedulerLogger & { errors: { msg: string; fields: Record<string, unknown> }[] } {
  const errors: { msg: string; fields: Record<string, unknown> }[] = [];
  return { errors, info() {}, error: (fields, msg) => void errors.push({ msg, fields }) };
}

describe('hostile input: the scheduler', () => {
  let s: TestStack;
  let nc: NatsConnection;
  let schedules: KV;
  let state: KV;
  const seed = fuzzSeed();
  before(async () => {
    s = await startStack();
    nc = await s.server.connect('hostile-scheduler');
    await ensureTopology(nc, roomyTopology());
    await writeFile(join(s.dir, 'all.yaml'), `${JOB}---\n${STEADY}`);
    const applied = await s.cli(['apply', '-f', 'all.yaml']);
    assert.equal(applied.code, 0, applied.stderr);
    const kvm = new Kvm(nc);
    schedules = await kvm.open(BUCKETS.schedules);
    state = await kvm.open(BUCKETS.schedulerState);
  });
  after(async () => s.stop());

  /** Waits for a fire of `steady` later than `since` (ms). */
  const firesAfter = (since: number, what: string) =>
    waitFor(`steady to fire ${what}`, async () => (await fires(nc, 'steady')).some((t) => t > since), {
      timeoutMs: 15_000,
      intervalMs: 200,
    });

  test('garbage in schedules and scheduler_state: rejected or failed closed, and the valid schedule keeps firing', async (t) => {
    t.diagnostic(`seed ${seed} (replay with BATON_FUZZ_SEED=${seed})`);
    const r = seededRng(seed);
    const log = capture();
    const scheduler = new Scheduler({ nc, logger: log });
    await scheduler.start();
    await firesAfter(0, 'at all');

    // `schedules`: a value per case, each under its own key; the value is what a writer stored.
    const stored = JSON.parse(dec.decode((await schedules.get('steady'))!.value)) as JsonObject;
    let n = 0;
    const SCHEDULE: MessageShape = {
      // Valid, enabled, but yearly: it loads (is active) without firing during the test.
      valid: () => ({ ...stored, id: `fz-${++n}`, cron: '0 0 1 1 *' }),
      required: ['kind', 'job', 'targets', 'cron', 'timezone', 'jitterMs', 'startingDeadlineMs', 'overlap', 'catchUp', 'active', 'enabled', 'params', 'written'],
      bounded: [],
      versioned: false,
    }; // prettier-ignore
    const invalid = malformedPayloads(r, SCHEDULE, nc.info!.max_payload);
    // Right shape, values that only the scheduler can reject.
    for (const [field, value] of [['cron', 'not a cron'], ['cron', '61 * * * *'], ['timezone', 'Mars/Olympus'], ['cron', '* '.repeat(5_000)]] as const) {
      invalid.push({ kind: `unusable-${field}`, data: enc.encode(JSON.stringify({ ...SCHEDULE.valid(), [field]: value })), expect: 'invalid' });
    } // prettier-ignore
    const tolerated = toleratedPayloads(r, SCHEDULE);
    const keyed = r
      .shuffle([...invalid, ...tolerated])
      .map((c, i) => ({ c, key: c.base ? field(c.base, 'id') : `fz-garbage-${i}` }));
    const started = Date.now();
    for (const { c, key } of keyed) await schedules.put(key, c.data);
    const rejected = () => log.errors.filter((e) => e.msg === 'schedule value invalid; not firing it').length;
    await waitFor('every bad schedule value to be rejected', () => rejected() >= invalid.length, {
      timeoutMs: 10_000,
    }).catch((err: Error) => {
      const seen = new Set(
        log.errors
          .filter((e) => e.msg === 'schedule value invalid; not firing it')
          .map((e) => e.fields['schedule']),
      );
      const missed = keyed
        .filter((k) => k.c.expect === 'invalid' && !seen.has(k.key))
        .map((k) => `${k.key}: ${k.c.kind} ${dec.decode(k.c.data).slice(0, 300)}`);
      throw new Error(`${err.message}; not rejected: ${missed.join('\n')}`);
    });
    const toleratedKeys = keyed.filter((k) => k.c.expect === 'tolerated').map((k) => k.key);
    await waitFor('the tolerated schedules to be active', () =>
      toleratedKeys.every((k) => scheduler.active.includes(k)),
    );
    const rejectedCount = rejected();
    assert.equal(rejectedCount, invalid.length);
    assert.deepEqual(scheduler.active, ['steady', ...toleratedKeys].sort());
    await firesAfter(started, 'after the garbage schedules');

    // The valid schedule itself overwritten with garbage: it stops; written again, it fires again.
    const good = (await schedules.get('steady'))!.value;
    await schedules.put('steady', enc.encode('{"kind":"schedule", oops'));
    await waitFor('steady to stop', () => !scheduler.active.includes('steady'));
    const rewritten = Date.now();
    await schedules.put('steady', good);
    await firesAfter(rewritten, 'after it was written again');

    // `fires.steady`: an unreadable mark is overwritten by the next fire, not a stuck schedule.
    let marks = 0;
    for (const c of r.shuffle(malformedPayloads(r, { valid: () => ({ lastFireAt: new Date().toISOString() }), required: ['lastFireAt'], bounded: [], versioned: false }, nc.info!.max_payload)).slice(0, 4)) {
      await state.put('fires.steady', c.data);
      marks++;
      const at = Date.now();
      await firesAfter(at, `after a bad fire mark (${c.kind})`);
    } // prettier-ignore
    await waitFor('the mark to be readable again', async () => {
      const e = await state.get('fires.steady');
      return e !== null && Number.isFinite(Date.parse(String((JSON.parse(dec.decode(e.value)) as { lastFireAt?: unknown }).lastFireAt)));
    }); // prettier-ignore

    // `freeze`: unreadable means frozen (fail closed): fires are recorded as skipped, not run.
    await state.put('freeze', enc.encode('{"reason": 42}'));
    const frozenSkips = await skips(nc, 'steady', 'frozen');
    await waitFor('a frozen skip of steady', async () => (await skips(nc, 'steady', 'frozen')) > frozenSkips, { timeoutMs: 10_000, intervalMs: 200 }); // prettier-ignore
    await scheduler.stop();
    assert.equal(scheduler.status, 'stopped');

    // A scheduler starting while the freeze is unreadable starts (frozen), and fires once it is cleared.
    const second = new Scheduler({ nc, logger: log });
    await second.start();
    assert.equal(second.status, 'running');
    await state.delete('freeze');
    await firesAfter(Date.now(), 'after the freeze was cleared');
    await second.stop();

    t.diagnostic(
      `scheduler: ${rejectedCount} malformed schedule values rejected (logged, not fired), ${tolerated.length} with unknown fields loaded, ${marks} unreadable fire marks overwritten by the next fire (${log.errors.filter((e) => e.msg === 'fire mark unreadable; treating it as absent').length} read and logged first), 1 unreadable freeze failed closed, 0 crashes; steady fired ${(await fires(nc, 'steady')).length} times`,
    );
    t.diagnostic(`cases by kind: ${JSON.stringify(countKinds(invalid))}`);
  });
});
