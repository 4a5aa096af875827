import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Duration, WireError, formatDuration, parseDuration } from '../../src/wire/index.js';

describe('parseDuration', () => {
  it('reads single and combined units into milliseconds', () => {
    const cases: [string, number][] = [
      ['250ms', 250],
      ['30s', 30_000],
      ['5m', 300_000],
      ['1h30m', 5_400_000],
      ['2d', 172_800_000],
      ['1d2h3m4s5ms', 93_784_005],
      ['0s', 0],
      ['0', 0],
      ['90s', 90_000],
    ];
    for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, text);
  });

  it('rejects malformed durations, quoting the value and saying what is allowed', () => {
    const cases: [string, RegExp][] = [
      ['', /invalid duration "": empty/],
      ['30', /invalid duration "30": missing unit/],
      ['5 m', /invalid duration "5 m": unexpected "5 m" at position 0/],
      ['1h 30m', /unexpected " 30m" at position 2/],
      ['30m1h', /unit 'h' is repeated or out of order/],
      ['1m1m', /unit 'm' is repeated or out of order/],
      ['1.5h', /invalid duration "1\.5h": fractions are not supported, use smaller units/],
      ['-5s', /unexpected "-5s"/],
      ['10y', /unexpected "10y"/],
      ['99999999999999999d', /too large/],
    ];
    for (const [text, pattern] of cases) {
      assert.throws(
        () => parseDuration(text),
        (err: unknown) =>
          err instanceof WireError &&
          pattern.test(err.message) &&
          err.message.includes('expected a duration such as "250ms", "30s"'),
        text,
      );
    }
  });
});

describe('formatDuration', () => {
  it('writes the largest units first and round-trips through parseDuration', () => {
    const cases: [number, string][] = [
      [0, '0s'],
      [250, '250ms'],
      [30_000, '30s'],
      [5_400_000, '1h30m'],
      [172_800_000, '2d'],
      [93_784_005, '1d2h3m4s5ms'],
    ];
    for (const [ms, text] of cases) {
      assert.equal(formatDuration(ms), text);
      assert.equal(parseDuration(text), ms);
    }
  });

  it('rejects negative and fractional values', () => {
    assert.throws(() => formatDuration(-1), /invalid duration -1: must be a non-negative integer/);
    assert.throws(() => formatDuration(1.5), WireError);
    assert.throws(() => formatDuration(Number.NaN), WireError);
  });
});

describe('Duration schema', () => {
  it('turns a string into milliseconds', () => {
    assert.equal(Duration.parse('1h30m'), 5_400_000);
  });

  it('reports a bad duration as a zod issue with the quoted value', () => {
    const result = Duration.safeParse('3x');
    assert.equal(result.success, false);
    assert.match(result.error?.issues[0]?.message ?? '', /^invalid duration "3x": /);
    assert.equal(Duration.safeParse(30).success, false);
  });
});
