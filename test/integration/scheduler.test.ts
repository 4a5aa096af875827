import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { jetstream, jetstreamManager, DeliverPolicy } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { EXIT } from '../../src/cli/exit-codes.js';
import { STREAMS, readAudit } from '../../src/kv/index.js';
import { Scheduler } from '../../src/scheduler/index.js';
import { parseExecRequest, parseRunStart, type AuditEvent, type ExecRequest } from '../../src/wire/index.js';
import { startStack, type TestStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

const JOB = `kind: job
id: tick
version: 1.0.0
params: { mode: { type: enum, values: [slow, fast] } }
execute: { shell: sh, script: date, timeout: 10s }
`;

const schedule = (id: string, extra = '') => `kind: schedule
id: ${id}
job: tick
target: { pcs: [pc-1] }
cron: "*/1 * * * * *"
jitter: 2s
starting_deadline: 1m
${extra}`;

const quiet = { info() {}, error() {} };

async function runStarts(nc: NatsConnection, scheduleId: string): Promise<AuditEvent[]> {
  const { events } = await readAudit(nc, { action: 'run.start', limit: 100_000 });
  return events.filter((e) => {
    const t = parseRunStart(e.details).trigger;
    return t.kind === 'schedule' && t.scheduleId === scheduleId;
  });
}

async function skips(nc: NatsConnection, scheduleId: string): Promise<AuditEvent[]> {
  return (await readAudit(nc, { action: 'schedule.skip', target: scheduleId, limit: 100_000 })).events;
}

/** Every request on EXEC for pc-1. */
async function requests(nc: NatsConnection): Promise<ExecRequest[]> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(STREAMS.exec, { subjects_filter: 'exec.pc.pc-1' });
  const total = Object.values(info.state.subjects ?? {}).reduce((a, n) => a + n, 0);
  const out: ExecRequest[] = [];
  if (total === 0) return out;
  const c = await jetstream(nc).consumers.get(STREAMS.exec, {
    filter_subjects: ['exec.pc.pc-1'],
    deliver_policy: DeliverPolicy.All,
  });
  while (out.length < total) {
    const batch = await c.fetch({ max_messages: total - out.length, expires: 5_000 });
    let got = 0;
    for await (const m of batch) {
      got++;
      out.push(parseExecRequest(m.data));
    }
    if (got === 0) break;
  }
  return out;
}

const fireTimes = (events: AuditEvent[]) =>
  events.map((e) => (parseRunStart(e.details).trigger as { fireAt: string }).fireAt).sort();

describe('scheduler against a real server', () => {
  let s: TestStack;
  let nc: NatsConnection;
  before(async () => {
    s = await startStack();
    nc = await s.server.connect('test');
    await writeFile(join(s.dir, 'job.yaml'), JOB);
    assert.equal((await s.cli(['apply', '-f', 'job.yaml'])).code, 0);
  });
  after(async () => s.stop());

  test('apply validates schedules with located errors, and round-trips their YAML', async () => {
    await writeFile(
      join(s.dir, 'bad.yaml'),
      schedule('bad', 'timezone: Europe/Berln\n').replace('job: tick', 'job: tikc'),
    );
    const bad = await s.cli(['apply', '-f', 'bad.yaml']);
    assert.equal(bad.code, EXIT.usage, bad.stderr);
    assert.match(
      bad.stderr,
      /bad\.yaml:8: timezone: unknown time zone 'Europe\/Berln'; did you mean 'Europe\/Berlin'\?/,
    );
    await writeFile(join(s.dir, 'bad.yaml'), schedule('bad').replace('job: tick', 'job: tikc'));
    const unknownJob = await s.cli(['apply', '-f', 'bad.yaml']);
    assert.equal(unknownJob.code, EXIT.usage);
    assert.match(unknownJob.stderr, /bad\.yaml:3: job: unknown job 'tikc'; did you mean 'tick'\?/);

    const text = `# every day at 03:00 Berlin\n${schedule('nightly', 'enabled: false\n').replace('"*/1 * * * * *"', '"0 3 * * *"')}timezone: Europe/Berlin\n`;
    await writeFile(join(s.dir, 'nightly.yaml'), text);
    const applied = await s.json<{ objects: { kind: string; id: string; action: string }[] }>([
      'apply',
      '-f',
      'nightly.yaml',
    ]);
    assert.deepEqual(
      applied.objects.map((o) => [o.kind, o.id, o.action]),
      [['schedule', 'nightly', 'create']],
    );
    assert.equal((await s.cli(['schedules', 'show', 'nightly', '--yaml'])).stdout, text);
    const preview = await s.json<{ fires: { utc: string; local: string }[] }>([
      'schedules',
      'preview',
      'nightly',
      '--count',
      '3',
    ]);
    assert.equal(preview.fires.length, 3);
    assert.ok(
      preview.fires.every((f) => /03:00:00 \+0[12]:00/.test(f.local)),
      JSON.stringify(preview),
    );
    // A person enables it; a later apply of the old YAML is refused as a human edit.
    assert.equal((await s.cli(['schedules', 'enable', 'nightly'])).code, 0);
    assert.match(
      (await s.cli(['schedules', 'show', 'nightly', '--yaml'])).stdout,
      /^# every day at 03:00 Berlin\n[\s\S]*enabled: true/,
    );
    const refused = await s.cli(['apply', '-f', 'nightly.yaml']);
    assert.equal(refused.code, EXIT.conflict);
    assert.match(refused.stderr, /schedule 'nightly' revision \d+ was edited by tester via cli/);
    const receipts = (await readAudit(nc, { action: 'schedule', target: 'nightly' })).events.map(
      (e) => e.action,
    );
    assert.deepEqual(receipts, ['schedule.create', 'schedule.enable']);
    assert.equal((await s.cli(['schedules', 'rm', 'nightly'])).code, 0);
  });

  test('two schedulers produce exactly one execution per fire', async () => {
    await writeFile(join(s.dir, 'every.yaml'), schedule('every'));
    const [a, b] = [
      new Scheduler({ nc: await s.server.connect('a'), logger: quiet, name: 'a' }),
      new Scheduler({ nc: await s.server.connect('b'), logger: quiet, name: 'b' }),
    ];
    await Promise.all([a.start(), b.start()]);
    assert.equal((await s.cli(['apply', '-f', 'every.yaml'])).code, 0);
    await waitFor('8 fires', async () => (await runStarts(nc, 'every')).length >= 8, {
      timeoutMs: 20_000,
      intervalMs: 250,
    });
    await Promise.all([a.stop(), b.stop(), a.stop()]);
    const starts = await runStarts(nc, 'every');
    const times = fireTimes(starts);
    assert.equal(new Set(times).size, times.length, 'one run.start per fire time');
    for (let i = 1; i < times.length; i++)
      assert.equal(Date.parse(times[i]!) - Date.parse(times[i - 1]!), 1000, 'no fire missed');
    const reqs = (await requests(nc)).filter(
      (r) => r.trigger.kind === 'schedule' && r.trigger.scheduleId === 'every',
    );
    assert.equal(reqs.length, starts.length, 'one request per fire');
    assert.deepEqual(new Set(reqs.map((r) => r.execId)).size, reqs.length);
    const r = reqs[0]!;
    assert.equal(r.overlap, 'skip');
    assert.equal(r.jitterMs, 2000);
    assert.match(r.execId, /^s-every-\d{8}T\d{6}Z$/);
    assert.equal(Date.parse(r.deadlineAt) - Date.parse((r.trigger as { fireAt: string }).fireAt), 60_000);
    assert.equal(typeof (r.trigger as { scheduleRevision?: number }).scheduleRevision, 'number');
    assert.equal((await s.cli(['schedules', 'disable', 'every'])).code, 0);
  });

  test('a scheduler restarted after a gap catches up per policy (latest) and records the skipped fires', async () => {
    await writeFile(join(s.dir, 'gap.yaml'), schedule('gap', 'catch_up: { window: 1h, policy: latest }\n'));
    const first = new Scheduler({ nc: await s.server.connect('g1'), logger: quiet, onTimeMs: 300 });
    await first.start();
    assert.equal((await s.cli(['apply', '-f', 'gap.yaml'])).code, 0);
    await waitFor('2 fires', async () => (await runStarts(nc, 'gap')).length >= 2, { intervalMs: 100 });
    await first.stop();
    const before = fireTimes(await runStarts(nc, 'gap'));
    const stoppedAt = Date.now();
    await waitFor('a 4 s gap', () => Date.now() - stoppedAt > 4_000, { intervalMs: 200 });
    const second = new Scheduler({ nc: await s.server.connect('g2'), logger: quiet, onTimeMs: 300 });
    await second.start();
    const skipped = await waitFor(
      'a catch_up_latest skip',
      async () => (await skips(nc, 'gap')).find((e) => e.details?.['reason'] === 'catch_up_latest'),
      { intervalMs: 100 },
    );
    await waitFor(
      'fires after the gap',
      async () => (await runStarts(nc, 'gap')).length >= before.length + 2,
      { intervalMs: 100 },
    );
    await second.stop();
    const after = fireTimes(await runStarts(nc, 'gap'));
    const last = Date.parse(before.at(-1)!);
    const skippedFrom = Date.parse(skipped.details!['from'] as string);
    const skippedTo = Date.parse(skipped.details!['to'] as string);
    // Every second after the last fire before the gap is either fired or in the skipped range.
    assert.equal(skippedFrom, last + 1000);
    assert.ok((skipped.details!['count'] as number) >= 2, JSON.stringify(skipped.details));
    assert.ok(after.includes(new Date(skippedTo + 1000).toISOString()), 'the latest missed fire ran');
    assert.equal(new Set(after).size, after.length);
    assert.equal((await s.cli(['schedules', 'disable', 'gap'])).code, 0);
  });

  test('edits and disables apply without restart; freeze stops fires and clear resumes them', async () => {
    const sch = new Scheduler({ nc: await s.server.connect('live'), logger: quiet });
    await sch.start();
    await writeFile(join(s.dir, 'live.yaml'), schedule('live'));
    assert.equal((await s.cli(['apply', '-f', 'live.yaml'])).code, 0);
    await waitFor('live fires', async () => (await runStarts(nc, 'live')).length >= 1, { intervalMs: 100 });

    // Edit: new params reach the next fires.
    await writeFile(join(s.dir, 'live.yaml'), schedule('live', 'params: { mode: fast }\n'));
    assert.equal((await s.cli(['apply', '-f', 'live.yaml'])).code, 0);
    await waitFor(
      'a fire with the new params',
      async () =>
        (await runStarts(nc, 'live')).some((e) => parseRunStart(e.details).params['mode'] === 'fast'),
      { intervalMs: 100 },
    );

    // Freeze: fires are recorded as skipped, none start; clear resumes.
    assert.equal((await s.cli(['freeze', 'set', '--reason', 'change window'])).code, 0);
    const frozenStatus = await s.json<{ frozen: boolean; reason: string }>(['freeze', 'status']);
    assert.deepEqual([frozenStatus.frozen, frozenStatus.reason], [true, 'change window']);
    await waitFor(
      'a frozen skip',
      async () => (await skips(nc, 'live')).some((e) => e.details?.['reason'] === 'frozen'),
      { intervalMs: 100 },
    );
    const duringFreeze = (await runStarts(nc, 'live')).length;
    await waitFor(
      '3 frozen skips',
      async () => (await skips(nc, 'live')).filter((e) => e.details?.['reason'] === 'frozen').length >= 3,
      { intervalMs: 100 },
    );
    assert.ok((await runStarts(nc, 'live')).length <= duringFreeze + 1, 'no fires while frozen');
    assert.equal((await s.cli(['freeze', 'clear'])).code, 0);
    await waitFor('fires resume', async () => (await runStarts(nc, 'live')).length >= duringFreeze + 2, {
      intervalMs: 100,
    });
    const freezeReceipts = (await readAudit(nc, { action: 'freeze' })).events.map((e) => e.action);
    assert.deepEqual(freezeReceipts, ['freeze.set', 'freeze.clear']);

    // Disable: the loop stops without a restart.
    assert.equal((await s.cli(['schedules', 'disable', 'live'])).code, 0);
    await waitFor('the loop to stop', () => !sch.active.includes('live'), { intervalMs: 50 });
    const atDisable = (await runStarts(nc, 'live')).length;
    // Use a second schedule as the clock: two of its fires pass, no new fire of `live`.
    await writeFile(join(s.dir, 'probe.yaml'), schedule('probe'));
    assert.equal((await s.cli(['apply', '-f', 'probe.yaml'])).code, 0);
    await waitFor('2 probe fires', async () => (await runStarts(nc, 'probe')).length >= 2, {
      intervalMs: 100,
    });
    assert.equal((await runStarts(nc, 'live')).length, atDisable);
    await sch.stop();
  });
});
