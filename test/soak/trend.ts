// The soak's verdict: a least-squares line through each process's per-minute floor of memory and
// descriptors (after a warm-up), and whether its growth over the measured window is more than noise.

export type Sample = { atSec: number; rssBytes: number; fds: number };

export type Trend = {
  /** Growth per hour from the fitted line. */
  rssBytesPerHour: number;
  fdsPerHour: number;
  /** Growth over the measured window (after the warm-up) from the fitted line. */
  rssGrowthBytes: number;
  fdGrowth: number;
  meanRssBytes: number;
  verdict: 'flat' | 'growing';
  /** Periods the line was fitted through. */
  samples: number;
};

/** Slope of the least-squares line through (x, y). 0 with fewer than 2 distinct x. */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, x) => a + x, 0) / n;
  const my = ys.reduce((a, y) => a + y, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** Growth that counts as a trend over the window: RSS more than 10% of its mean and 8 MiB, fds more than 5. */
export const RSS_TOLERANCE = { fraction: 0.1, bytes: 8 * 1024 * 1024 };
export const FD_TOLERANCE = 5;

/**
 * Judges retained growth. Load comes in waves (every schedule fires each minute), so RSS swings
 * within a minute; what a leak raises is the floor. Samples are grouped into periods of the load
 * (`periodSec`) and the least-squares line goes through each period's lowest RSS and fd count,
 * after the first `warmupFraction` of the run (caches fill, consumers are made, first fires).
 */
export function trendOf(
  samples: readonly Sample[],
  opts: { periodSec?: number; warmupFraction?: number } = {},
): Trend {
  const period = opts.periodSec ?? 60;
  const end = samples.at(-1)?.atSec ?? 0;
  const floors = new Map<number, Sample>();
  for (const s of samples) {
    if (s.atSec < end * (opts.warmupFraction ?? 1 / 3)) continue;
    const k = Math.floor(s.atSec / period);
    const f = floors.get(k);
    floors.set(k, {
      atSec: (k + 0.5) * period,
      rssBytes: Math.min(f?.rssBytes ?? Infinity, s.rssBytes),
      fds: Math.min(f?.fds ?? Infinity, s.fds),
    });
  }
  const kept = [...floors.values()];
  const xs = kept.map((s) => s.atSec);
  const window = xs.length > 1 ? xs.at(-1)! - xs[0]! : 0;
  const rssSlope = slope(
    xs,
    kept.map((s) => s.rssBytes),
  );
  const fdSlope = slope(
    xs,
    kept.map((s) => s.fds),
  );
  const meanRssBytes = kept.reduce((a, s) => a + s.rssBytes, 0) / Math.max(1, kept.length);
  const rssGrowthBytes = rssSlope * window;
  const fdGrowth = fdSlope * window;
  const growing =
    (rssGrowthBytes > RSS_TOLERANCE.fraction * meanRssBytes && rssGrowthBytes > RSS_TOLERANCE.bytes) ||
    fdGrowth > FD_TOLERANCE;
  return {
    rssBytesPerHour: rssSlope * 3600,
    fdsPerHour: fdSlope * 3600,
    rssGrowthBytes,
    fdGrowth,
    meanRssBytes,
    verdict: growing ? 'growing' : 'flat',
    samples: kept.length,
  };
}
