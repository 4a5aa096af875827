// The soak's verdict: a least-squares line through each process's samples (after a warm-up), and
// whether its growth over the measured window is more than noise.

export type Sample = { atSec: number; rssBytes: number; fds: number };

export type Trend = {
  /** Growth per hour from the fitted line. */
  rssBytesPerHour: number;
  fdsPerHour: number;
  /** Growth over the measured window from the fitted line. */
  rssGrowthBytes: number;
  fdGrowth: number;
  meanRssBytes: number;
  verdict: 'flat' | 'growing';
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
 * Fits the samples after the first `warmupFraction` of the run (caches fill, consumers are made,
 * the first fires happen) and judges the growth over that window.
 */
export function trendOf(samples: readonly Sample[], warmupFraction = 1 / 3): Trend {
  const end = samples.at(-1)?.atSec ?? 0;
  const kept = samples.filter((s) => s.atSec >= end * warmupFraction);
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
