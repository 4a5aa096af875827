import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { slope, trendOf, type Sample } from '../soak/trend.js';

const MiB = 1024 * 1024;
const series = (f: (minute: number) => { rssMiB: number; fds: number }): Sample[] =>
  Array.from({ length: 31 }, (_, m) => {
    const v = f(m);
    return { atSec: m * 60, rssBytes: v.rssMiB * MiB, fds: v.fds };
  });

describe('soak trend', () => {
  test('the least-squares slope of a line is its slope', () => {
    assert.equal(slope([0, 1, 2, 3], [1, 3, 5, 7]), 2);
    assert.equal(slope([5], [1]), 0);
  });
  test('steady memory with noise and a warm-up ramp is flat', () => {
    const t = trendOf(
      series((m) => ({ rssMiB: (m < 5 ? 40 + m * 10 : 90) + (m % 3) * 2, fds: 30 + (m % 2) })),
    );
    assert.equal(t.verdict, 'flat');
  });
  test('swings within each minute of load do not count; a rising floor does', () => {
    // Every minute: 90 MiB at rest, 130 MiB while the fire's scripts run (samples every 15 s).
    const wave = (leakPerMin: number): Sample[] =>
      Array.from({ length: 4 * 30 }, (_, i) => ({
        atSec: i * 15,
        rssBytes: (90 + (i % 4 === 3 ? 40 : 0) + leakPerMin * Math.floor(i / 4)) * MiB,
        fds: 30,
      }));
    assert.equal(trendOf(wave(0)).verdict, 'flat');
    assert.equal(trendOf(wave(1)).verdict, 'growing');
  });
  test('a leak of 1 MiB a minute on 90 MiB is growing, and so is one fd a minute', () => {
    assert.equal(trendOf(series((m) => ({ rssMiB: 90 + m, fds: 30 }))).verdict, 'growing');
    const fds = trendOf(series((m) => ({ rssMiB: 90, fds: 30 + m })));
    assert.equal(fds.verdict, 'growing');
    assert.ok(Math.abs(fds.fdsPerHour - 60) < 1e-9);
  });
});
