import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  STREAM_SUBJECTS,
  WireError,
  auditSubject,
  ctlSubject,
  eventSubject,
  execSubject,
  heartbeatSubject,
  inventorySubject,
  obsSubject,
  outSubject,
  parseSubject,
  resultSubject,
} from '../../src/wire/index.js';
import type { ParsedSubject } from '../../src/wire/index.js';

const REQ = '01HWZ3N6Y8P0K6R5T4V3X2W1QA';

/** Every builder with its expected subject and what parseSubject finds in it. */
const ROUND_TRIPS: readonly [string, string, ParsedSubject][] = [
  [execSubject({ kind: 'all' }), 'exec.all', { kind: 'exec', target: { kind: 'all' } }],
  [
    execSubject({ kind: 'group', group: 'lab-a' }),
    'exec.group.lab-a',
    { kind: 'exec', target: { kind: 'group', group: 'lab-a' } },
  ],
  [
    execSubject({ kind: 'pc', pcId: 'web-01' }),
    'exec.pc.web-01',
    { kind: 'exec', target: { kind: 'pc', pcId: 'web-01' } },
  ],
  [resultSubject('web-01', REQ), `results.web-01.${REQ}`, { kind: 'result', pcId: 'web-01', requestId: REQ }],
  [
    eventSubject('web-01', 'accepted'),
    'events.web-01.accepted',
    { kind: 'event', pcId: 'web-01', eventKind: 'accepted' },
  ],
  [obsSubject('web-01'), 'obs.web-01', { kind: 'obs', pcId: 'web-01' }],
  [inventorySubject('web-01'), 'inventory.web-01', { kind: 'inventory', pcId: 'web-01' }],
  [auditSubject('job.create'), 'audit.job.create', { kind: 'audit', action: 'job.create' }],
  [
    auditSubject('schedule.run_now.force'),
    'audit.schedule.run_now.force',
    { kind: 'audit', action: 'schedule.run_now.force' },
  ],
  [heartbeatSubject('web-01'), 'heartbeat.web-01', { kind: 'heartbeat', pcId: 'web-01' }],
  [
    ctlSubject({ kind: 'all' }, 'ping'),
    'ctl.all.ping',
    { kind: 'ctl', scope: { kind: 'all' }, verb: 'ping' },
  ],
  [
    ctlSubject({ kind: 'group', group: 'lab-a' }, 'kill'),
    'ctl.group.lab-a.kill',
    { kind: 'ctl', scope: { kind: 'group', group: 'lab-a' }, verb: 'kill' },
  ],
  [
    ctlSubject({ kind: 'pc', pcId: 'web-01' }, 'tail'),
    'ctl.web-01.tail',
    { kind: 'ctl', scope: { kind: 'pc', pcId: 'web-01' }, verb: 'tail' },
  ],
  [outSubject('web-01', REQ), `out.web-01.${REQ}`, { kind: 'out', pcId: 'web-01', requestId: REQ }],
];

describe('wire subjects', () => {
  it('builders make the documented subjects and parseSubject inverts them', () => {
    for (const [built, expected, parsed] of ROUND_TRIPS) {
      assert.equal(built, expected);
      assert.deepEqual(parseSubject(built), parsed, built);
    }
  });

  it('every stored subject falls under its stream filter', () => {
    const streamOf = (subject: string): string | undefined =>
      Object.entries(STREAM_SUBJECTS).find(([, filters]) =>
        filters.some((f) => subject.startsWith(f.slice(0, -1))),
      )?.[0];
    assert.equal(streamOf(execSubject({ kind: 'all' })), 'EXEC');
    assert.equal(streamOf(resultSubject('web-01', REQ)), 'RESULTS');
    assert.equal(streamOf(eventSubject('web-01', 'started')), 'EVENTS');
    assert.equal(streamOf(obsSubject('web-01')), 'OBS_EVENTS');
    assert.equal(streamOf(inventorySubject('web-01')), 'INVENTORY');
    assert.equal(streamOf(auditSubject('job.delete')), 'AUDIT');
    // Core subjects must not be captured by a stream.
    assert.equal(streamOf(heartbeatSubject('web-01')), undefined);
    assert.equal(streamOf(ctlSubject({ kind: 'all' }, 'kill')), undefined);
    assert.equal(streamOf(outSubject('web-01', REQ)), undefined);
  });

  it('agent-published subjects carry the pc id as the second token', () => {
    for (const subject of [
      resultSubject('web-01', REQ),
      eventSubject('web-01', 'skipped'),
      obsSubject('web-01'),
      inventorySubject('web-01'),
      heartbeatSubject('web-01'),
      outSubject('web-01', REQ),
    ]) {
      assert.equal(subject.split('.')[1], 'web-01', subject);
    }
  });

  it('builders reject bad tokens with a WireError quoting the value', () => {
    const cases: [() => string, RegExp][] = [
      [() => resultSubject('a.b', REQ), /^invalid pc id "a\.b": must be a non-empty subject token/],
      [() => resultSubject('web-01', '*'), /^invalid request id "\*"/],
      [() => execSubject({ kind: 'group', group: 'lab a' }), /^invalid group "lab a"/],
      [() => execSubject({ kind: 'pc', pcId: '>' }), /^invalid pc id ">"/],
      [() => obsSubject(''), /^invalid pc id ""/],
      [() => outSubject('web-01', 'x'.repeat(129)), /^invalid request id "x+…" \(129 chars\): /],
      [
        () => eventSubject('web-01', 'finished' as never),
        /^invalid run event kind "finished": must be one of accepted, started, skipped/,
      ],
      [() => auditSubject('job'), /^invalid audit action "job": must look like 'job\.create'/],
      [() => auditSubject('job.*'), /^invalid audit action "job\.\*"/],
      [
        () => ctlSubject({ kind: 'all' }, 'reboot' as never),
        /^invalid control verb "reboot": must be one of kill, ping, tail/,
      ],
      [
        () => ctlSubject({ kind: 'pc', pcId: 'all' }, 'kill'),
        /^invalid pc id "all": 'all' and 'group' are reserved/,
      ],
      [() => execSubject({ kind: 'everyone' } as never), /^invalid target \{"kind":"everyone"\}/],
    ];
    for (const [build, pattern] of cases)
      assert.throws(build, (err: unknown) => err instanceof WireError && pattern.test(err.message));
  });

  it('parseSubject rejects unknown and malformed subjects, naming the subject', () => {
    for (const subject of [
      '',
      'exec',
      'exec.pc',
      'exec.some.thing',
      'exec.all.extra',
      'exec.group.a.b',
      'results.web-01',
      'results.web-01.a.b',
      'events.web-01.finished',
      'obs.web-01.extra',
      'obs.*',
      'results.>',
      'audit.job',
      'audit.Job.Create',
      'ctl.group.kill',
      'ctl.pc.web-01.kill',
      'ctl.web-01.reboot',
      'ctl.all.x.kill',
      'heartbeat..x',
      'jobs.backup',
    ]) {
      assert.throws(
        () => parseSubject(subject),
        (err: unknown) =>
          err instanceof WireError &&
          err.message.startsWith(`unrecognised subject ${JSON.stringify(subject)}: expected one of exec.all`),
        subject,
      );
    }
  });
});
