import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  GroupName,
  JobId,
  PcId,
  RequestId,
  ScheduleId,
  WIRE_VERSION,
  WireError,
  assertSubjectToken,
  isSubjectToken,
  newId,
  quote,
} from '../../src/wire/index.js';

describe('wire subject tokens', () => {
  it('accepts ordinary tokens up to 128 characters', () => {
    for (const ok of [
      'web-01',
      'DESKTOP-7F3K2',
      '01HWZ3N6Y8P0K6R5T4V3X2W1QA',
      'a',
      'x'.repeat(128),
      'ümlaut',
      'a:b',
    ]) {
      assert.ok(isSubjectToken(ok), ok);
    }
  });

  it("rejects empty, '.', '*', '>', whitespace, control characters and overlong values", () => {
    const bad = [
      '',
      'a.b',
      'a*',
      '>',
      'a b',
      'a\tb',
      'a\nb',
      'a\u0000b',
      'a\u007fb',
      'a\u00a0b',
      'x'.repeat(129),
    ];
    for (const value of bad) assert.equal(isSubjectToken(value), false, JSON.stringify(value));
    assert.equal(isSubjectToken(42), false);
  });

  it('throws a WireError that names the kind, quotes the value and says what is allowed', () => {
    assert.throws(
      () => assertSubjectToken('pc id', 'a.b'),
      (err: unknown) =>
        err instanceof WireError &&
        err.name === 'WireError' &&
        err.value === 'a.b' &&
        err.message ===
          `invalid pc id "a.b": must be a non-empty subject token without '.', '*', '>' or whitespace (max 128 chars)`,
    );
    assert.throws(() => assertSubjectToken('request id', 'a\nb'), /invalid request id "a\\nb": /);
    assert.throws(() => assertSubjectToken('group', undefined), /invalid group \(missing\): /);
  });
});

describe('wire id schemas', () => {
  it('pc ids and group names are subject tokens that are also KV keys', () => {
    for (const ok of ['web-01', 'DESKTOP-7F3K2', 'lab_a', '7']) {
      assert.equal(PcId.safeParse(ok).success, true, ok);
      assert.equal(GroupName.safeParse(ok).success, true, ok);
    }
    for (const bad of ['', 'a.b', 'a b', '-lead', 'a/b', 'all', 'ALL', 'group', 'x'.repeat(129)]) {
      assert.equal(PcId.safeParse(bad).success, false, bad);
      assert.equal(GroupName.safeParse(bad).success, false, bad);
    }
  });

  it('job and schedule ids are lowercase slugs of at most 64 characters', () => {
    for (const ok of ['backup', 'backup-nightly', 'a_1', '0day', 'x'.repeat(64)]) {
      assert.equal(JobId.safeParse(ok).success, true, ok);
      assert.equal(ScheduleId.safeParse(ok).success, true, ok);
    }
    for (const bad of ['', 'Backup', '-backup', '_x', 'a.b', 'a b', 'x'.repeat(65)]) {
      assert.equal(JobId.safeParse(bad).success, false, bad);
    }
  });

  it('request ids are any subject token', () => {
    assert.equal(RequestId.safeParse('sched:nightly:2024-05-01T02:00:00Z').success, true);
    assert.equal(RequestId.safeParse('a.b').success, false);
  });

  it('wire version is 1', () => {
    assert.equal(WIRE_VERSION, 1);
  });
});

describe('newId', () => {
  it('makes 26-character Crockford base32 ids that are valid subject tokens', () => {
    const id = newId();
    assert.match(id, /^[0-9A-HJKMNP-TV-Z]{26}$/);
    assert.ok(isSubjectToken(id));
  });

  it('encodes the time in the first 10 characters, so ids sort by time', () => {
    const base = Date.now() + 10_000_000; // later than any id made so far in this process
    const early = newId(base);
    const late = newId(base + 1);
    assert.ok(early < late);
    assert.equal(newId(base + 1000).slice(0, 10) > early.slice(0, 10), true);
    assert.equal(newId(0x0123456789ab + base).length, 26);
  });

  it('stays unique and ordered within one millisecond and when the clock steps back', () => {
    const at = Date.now() + 20_000_000;
    const ids = [newId(at), newId(at), newId(at), newId(at - 5000), newId(at)];
    assert.deepEqual([...ids].sort(), ids);
    assert.equal(new Set(ids).size, ids.length);
  });

  it('makes distinct ids in a tight loop', () => {
    const ids = Array.from({ length: 10_000 }, () => newId());
    assert.equal(new Set(ids).size, ids.length);
    assert.deepEqual([...ids].sort(), ids);
  });

  it('rejects a time it cannot encode', () => {
    assert.throws(() => newId(-1), WireError);
    assert.throws(() => newId(2 ** 48), WireError);
    assert.throws(() => newId(1.5), WireError);
  });
});

describe('quote', () => {
  it('renders values for error messages', () => {
    assert.equal(quote('a"b'), '"a\\"b"');
    assert.equal(quote(undefined), '(missing)');
    assert.equal(quote(null), 'null');
    assert.equal(quote({ a: 1 }), '{"a":1}');
    assert.equal(quote(10n), '10n');
    assert.equal(quote('x'.repeat(200)), `"${'x'.repeat(78)}…" (200 chars)`);
    assert.equal(quote([...'y'.repeat(100)]).length, 80);
  });
});
