import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cronClock,
  formatInZone,
  isSubjectToken,
  parseCron,
  parseManifestFile,
  parseSchedules,
  type Schedule,
} from '../../src/wire/index.js';
import { fireExecId, planDueFires, runSchedule, type RunnerSchedule } from '../../src/scheduler/index.js';
import { FakeClock } from '../helpers/fake-clock.js';

function schedule(yaml: string, target = 'target: { all: true }\n'): Schedule {
  const doc = `kind: schedule\nid: s1\njob: j1\n${target}${yaml}`;
  return parseSchedules(parseManifestFile(doc, 's.yaml').others)[0]!.schedule;
}

function errorsOf(yaml: string): string {
  try {
    schedule(yaml);
  } catch (err) {
    return (err as Error).message;
  }
  assert.fail('expected a validation error');
}

type Event =
  | { kind: 'fire'; at: string; catchUp: boolean }
  | { kind: 'skip'; reason: string; from: string; to: string; count: number };

/** Runs one schedule on a fake clock from `start` to `end`; returns what it fired and skipped. */
async function simulate(
  s: Schedule,
  opts: { start: string; end: string; storedAt?: string; mark?: string; frozen?: (at: Date) => boolean },
): Promise<Event[]> {
  const clock = new FakeClock(opts.start);
  const events: Event[] = [];
  let mark = opts.mark ? new Date(opts.mark) : null;
  const rs: RunnerSchedule = { id: s.id, schedule: s, revision: 1, storedAt: opts.storedAt ?? opts.start };
  const controller = new AbortController();
  const done = runSchedule(
    rs,
    {
      clock,
      frozen: opts.frozen ?? (() => false),
      lastFire: async () => mark,
      recordFire: async (_id, at) => {
        if (!mark || at > mark) mark = at;
      },
      fire: async (_s, fireAt, o) =>
        void events.push({ kind: 'fire', at: fireAt.toISOString(), catchUp: o.catchUp }),
      skip: async (_s, d) =>
        void events.push({
          kind: 'skip',
          reason: d.reason,
          from: d.from.toISOString(),
          to: d.to.toISOString(),
          count: d.count,
        }),
      onError: (_s, err) => assert.fail(err as Error),
    },
    controller.signal,
  );
  const end = Date.parse(opts.end);
  for (;;) {
    const t = await clock.nextSleep();
    if (t.getTime() > end) break;
    clock.set(t);
  }
  controller.abort();
  await done;
  return events;
}

const fires = (events: Event[]) =>
  events.filter((e) => e.kind === 'fire').map((e) => (e as { at: string }).at);

describe('cron parsing', () => {
  test('bad fields name the field, quote the value and give the allowed range', () => {
    const cases: [string, RegExp][] = [
      ['61 * * * *', /minute field "61": 61 is outside 0-59/],
      ['0 24 * * *', /hour field "24": 24 is outside 0-23/],
      ['0 0 0 * *', /day of month field "0": 0 is outside 1-31/],
      ['0 0 * 13 *', /month field "13": 13 is outside 1-12/],
      ['0 0 * * 8', /day of week field "8": 8 is outside 0-7/],
      ['60 0 0 * * *', /second field "60": 60 is outside 0-59/],
      ['0 0 * * MOX', /day of week field "MOX": "MOX" is not a number or name; allowed 0-7 or SUN-SAT/],
      ['*/0 * * * *', /step "0" must be a whole number 1-60/],
      ['5-1 * * * *', /range "5-1" runs backwards/],
      ['* * *', /has 3 fields; expected 5/],
      ['@fortnightly', /unknown macro; expected one of @yearly/],
      ['0 0 31 2 *', /never matches any date/],
    ];
    for (const [cron, re] of cases) assert.throws(() => parseCron(cron), re, cron);
  });

  test('5 and 6 fields, names, lists, steps and macros are accepted', () => {
    for (const c of [
      '0 3 * * 1-5',
      '*/15 9-17 * * MON-FRI',
      '0 0 1 JAN,jul ?',
      '*/1 * * * * *',
      '@hourly',
      '@daily',
      '@weekly',
      '@monthly',
      '@yearly',
    ]) {
      assert.doesNotThrow(() => parseCron(c), c);
    }
    assert.deepEqual(parseCron('@weekly').fields, ['0', '0', '*', '*', '0']);
    assert.equal(parseCron('*/1 * * * * *').hasSeconds, true);
  });

  test('the schedule schema reports cron, zone, deadline and unknown keys with file lines', () => {
    const msg = errorsOf(
      'cron: "0 61 * * *"\ntimezone: Europe/Berln\njitter: 5m\nstarting_deadline: 1m\ncatch_up: { window: 6h, polcy: all }\n',
    );
    assert.match(
      msg,
      /^s\.yaml:5: cron: invalid cron "0 61 \* \* \*": hour field "61": 61 is outside 0-23$/m,
    );
    assert.match(
      msg,
      /^s\.yaml:6: timezone: unknown time zone 'Europe\/Berln'; did you mean 'Europe\/Berlin'\?$/m,
    );
    assert.match(msg, /^s\.yaml:8: starting_deadline: '1m' is shorter than jitter '5m'/m);
    assert.match(msg, /^s\.yaml:9: catch_up: unknown key 'polcy'; did you mean 'policy'\?$/m);
    assert.match(
      errorsOf('cron: "@daily"\nstarting_deadline: "0"\n'),
      /starting_deadline: '0' must be longer than 0/,
    );
    assert.match(errorsOf('cron: "@daily"\njitter: 5 minutes\n'), /s\.yaml:6: jitter: invalid duration/);
    assert.match(
      errorsOf('cron: "@daily"\nactive: { from: 2027-01-02, until: 2027-01-01 }\n'),
      /active\.until: '2027-01-01' is not after from/,
    );
  });

  test('defaults: UTC, no jitter, 1h deadline, overlap skip, catch-up latest within 1h, enabled', () => {
    const s = schedule('cron: "@daily"\n');
    assert.deepEqual(
      {
        tz: s.timezone,
        j: s.jitterMs,
        d: s.startingDeadlineMs,
        o: s.overlap,
        c: s.catchUp,
        e: s.enabled,
        a: s.active,
        p: s.params,
      },
      {
        tz: 'UTC',
        j: 0,
        d: 3_600_000,
        o: 'skip',
        c: { windowMs: 3_600_000, policy: 'latest' },
        e: true,
        a: {},
        p: {},
      },
    );
    const t = schedule('cron: "@daily"\n', 'target: { all: true, groups: [a, a, b], pcs: [pc-1] }\n');
    assert.deepEqual(t.targets, [
      { kind: 'all' },
      { kind: 'group', group: 'a' },
      { kind: 'group', group: 'b' },
      { kind: 'pc', pcId: 'pc-1' },
    ]);
    assert.throws(
      () => schedule('cron: "@daily"\n', 'target: { groups: [] }\n'),
      /s\.yaml:4: target: names no endpoint/,
    );
  });

  test('exec ids are deterministic subject tokens', () => {
    const id = fireExecId('nightly-disk', new Date('2026-03-29T01:00:00Z'));
    assert.equal(id, 's-nightly-disk-20260329T010000Z');
    assert.ok(isSubjectToken(id));
  });
});

describe('fire times in time zones', () => {
  test('a Berlin weekday cron fires at 03:00 local, in winter and in summer', () => {
    const c = cronClock(parseCron('0 3 * * 1-5'), 'Europe/Berlin');
    assert.equal(c.nextAfter(new Date('2026-01-09T12:00:00Z'))?.toISOString(), '2026-01-12T02:00:00.000Z'); // Fri -> Mon, CET
    assert.equal(c.nextAfter(new Date('2026-07-01T12:00:00Z'))?.toISOString(), '2026-07-02T01:00:00.000Z'); // CEST
    assert.equal(
      formatInZone(new Date('2026-07-02T01:00:00Z'), 'Europe/Berlin').slice(0, 26),
      '2026-07-02 03:00:00 +02:00',
    );
  });

  test('spring forward: 02:30 Berlin fires once, at the transition (03:00 CEST)', async () => {
    const s = schedule('cron: "30 2 * * *"\ntimezone: Europe/Berlin\n');
    const got = fires(await simulate(s, { start: '2026-03-27T12:00:00Z', end: '2026-03-30T12:00:00Z' }));
    assert.deepEqual(got, [
      '2026-03-28T01:30:00.000Z',
      '2026-03-29T01:00:00.000Z',
      '2026-03-30T00:30:00.000Z',
    ]);
  });

  test('fall back: 02:30 Berlin fires once, at the first 02:30 (CEST)', async () => {
    const s = schedule('cron: "30 2 * * *"\ntimezone: Europe/Berlin\n');
    const got = fires(await simulate(s, { start: '2026-10-24T12:00:00Z', end: '2026-10-26T12:00:00Z' }));
    assert.deepEqual(got, ['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']);
  });

  test('every-30-minutes keeps firing by elapsed time through both transitions (New York)', async () => {
    const s = schedule('cron: "*/30 * * * *"\ntimezone: America/New_York\n');
    // 2026-11-01 01:00-02:00 EDT repeats as EST: four fires in that wall-clock hour, 30 min apart.
    const fall = fires(await simulate(s, { start: '2026-11-01T04:45:00Z', end: '2026-11-01T07:15:00Z' }));
    assert.deepEqual(
      fall,
      ['05:00', '05:30', '06:00', '06:30', '07:00'].map((t) => `2026-11-01T${t}:00.000Z`),
    );
    // 2026-03-08 02:00 EST jumps to 03:00 EDT: no gap and no extra fire in elapsed time.
    const spring = fires(await simulate(s, { start: '2026-03-08T06:15:00Z', end: '2026-03-08T07:45:00Z' }));
    assert.deepEqual(
      spring,
      ['06:30', '07:00', '07:30'].map((t) => `2026-03-08T${t}:00.000Z`),
    );
  });
});

describe('catch-up after downtime', () => {
  // Hourly; the last handled fire was 00:00, the scheduler comes back at 05:10; window 3h.
  const base = {
    start: '2026-05-01T05:10:00Z',
    end: '2026-05-01T06:00:00Z',
    storedAt: '2026-04-01T00:00:00Z',
    mark: '2026-05-01T00:00:00Z',
  };
  const hourly = (policy: string) =>
    schedule(`cron: "0 * * * *"\ncatch_up: { window: 3h, policy: ${policy} }\n`);

  test('all: every missed fire inside the window runs; older ones are recorded as skipped', async () => {
    const events = await simulate(hourly('all'), base);
    assert.deepEqual(events, [
      {
        kind: 'skip',
        reason: 'outside_catch_up_window',
        from: '2026-05-01T01:00:00.000Z',
        to: '2026-05-01T02:00:00.000Z',
        count: 2,
      },
      { kind: 'fire', at: '2026-05-01T03:00:00.000Z', catchUp: true },
      { kind: 'fire', at: '2026-05-01T04:00:00.000Z', catchUp: true },
      { kind: 'fire', at: '2026-05-01T05:00:00.000Z', catchUp: true },
      { kind: 'fire', at: '2026-05-01T06:00:00.000Z', catchUp: false },
    ]);
  });

  test('latest: only the newest missed fire runs; the others are recorded', async () => {
    const events = await simulate(hourly('latest'), base);
    assert.deepEqual(events, [
      {
        kind: 'skip',
        reason: 'outside_catch_up_window',
        from: '2026-05-01T01:00:00.000Z',
        to: '2026-05-01T02:00:00.000Z',
        count: 2,
      },
      {
        kind: 'skip',
        reason: 'catch_up_latest',
        from: '2026-05-01T03:00:00.000Z',
        to: '2026-05-01T04:00:00.000Z',
        count: 2,
      },
      { kind: 'fire', at: '2026-05-01T05:00:00.000Z', catchUp: true },
      { kind: 'fire', at: '2026-05-01T06:00:00.000Z', catchUp: false },
    ]);
  });

  test('none: missed fires are recorded as skipped, the next fire runs on time', async () => {
    const events = await simulate(hourly('none'), base);
    assert.deepEqual(
      events.map((e) => (e.kind === 'fire' ? `fire ${e.at}` : `skip ${e.reason} ${e.count}`)),
      ['skip outside_catch_up_window 2', 'skip catch_up_none 3', 'fire 2026-05-01T06:00:00.000Z'],
    );
  });

  test('a new or edited schedule starts at its stored time: nothing before it is caught up', async () => {
    const events = await simulate(hourly('all'), {
      ...base,
      mark: undefined,
      storedAt: '2026-05-01T04:30:00Z',
    });
    assert.deepEqual(fires(events), ['2026-05-01T05:00:00.000Z', '2026-05-01T06:00:00.000Z']);
  });

  test('a fire handled a little late (under 30 s) is on time, not a catch-up', async () => {
    const s = hourly('none');
    const events = await simulate(s, {
      start: '2026-05-01T05:00:20Z',
      end: '2026-05-01T05:30:00Z',
      mark: '2026-05-01T04:00:00Z',
      storedAt: '2026-04-01T00:00:00Z',
    });
    assert.deepEqual(events, [{ kind: 'fire', at: '2026-05-01T05:00:00.000Z', catchUp: false }]);
  });
});

describe('active window, freeze, seconds', () => {
  test('fires only inside active (dates in the zone, until inclusive)', async () => {
    const s = schedule(
      'cron: "0 12 * * *"\ntimezone: Europe/Berlin\nactive: { from: 2026-12-30, until: 2027-01-01 }\n',
    );
    assert.equal(s.active.from, '2026-12-29T23:00:00.000Z');
    assert.equal(s.active.until, '2027-01-01T23:00:00.000Z');
    const got = fires(await simulate(s, { start: '2026-12-25T00:00:00Z', end: '2027-01-10T00:00:00Z' }));
    assert.deepEqual(got, [
      '2026-12-30T11:00:00.000Z',
      '2026-12-31T11:00:00.000Z',
      '2027-01-01T11:00:00.000Z',
    ]);
  });

  test('while frozen, each fire is recorded as skipped; after the freeze fires resume', async () => {
    const s = schedule('cron: "*/10 * * * *"\n');
    const frozenUntil = Date.parse('2026-05-01T00:25:00Z');
    const events = await simulate(s, {
      start: '2026-05-01T00:00:00Z',
      end: '2026-05-01T00:40:00Z',
      frozen: (at) => at.getTime() < frozenUntil,
    });
    assert.deepEqual(
      events.map((e) =>
        e.kind === 'fire' ? `fire ${e.at.slice(11, 16)}` : `skip ${e.reason} ${e.from.slice(11, 16)}`,
      ),
      ['skip frozen 00:10', 'skip frozen 00:20', 'fire 00:30', 'fire 00:40'],
    );
  });

  test('a seconds cron fires every second', async () => {
    const s = schedule('cron: "*/1 * * * * *"\n');
    const got = fires(await simulate(s, { start: '2026-05-01T00:00:00.500Z', end: '2026-05-01T00:00:05Z' }));
    assert.deepEqual(
      got,
      [1, 2, 3, 4, 5].map((n) => `2026-05-01T00:00:0${n}.000Z`),
    );
  });

  test('planDueFires is empty when nothing is due', () => {
    const s = schedule('cron: "@daily"\n');
    const c = cronClock(parseCron(s.cron), s.timezone);
    assert.deepEqual(
      planDueFires(s, c, new Date('2026-05-01T00:00:00Z'), new Date('2026-05-01T12:00:00Z'), false),
      [],
    );
  });
});
