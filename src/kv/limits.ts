// Default limits of every resource. They are written here once; `baton nats status` shows usage
// against them and docs/nats.md explains them. Streams hold history and so age out; KV buckets and
// object stores hold state (a job must not expire), so they are bounded by bytes only, except
// result_output whose objects age out with the RESULTS stream that points at them.
import type { BucketName, ObjectStoreName, StreamName } from './names.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const DAY = 24 * 60 * 60 * 1000;

export type StreamLimits = { maxAgeMs: number; maxBytes: number; duplicateWindowMs: number };
export type BucketLimits = { maxBytes: number; history: number };
export type ObjectStoreLimits = { maxBytes: number; maxAgeMs: number };

export type TopologyLimits = {
  streams: Record<StreamName, StreamLimits>;
  buckets: Record<BucketName, BucketLimits>;
  objectStores: Record<ObjectStoreName, ObjectStoreLimits>;
};

/** Dedup window of every stream: DESIGN.md asks for at least 10 minutes. */
export const DUPLICATE_WINDOW_MS = 20 * 60 * 1000;

const stream = (days: number, bytes: number): StreamLimits => ({
  maxAgeMs: days * DAY,
  maxBytes: bytes,
  duplicateWindowMs: DUPLICATE_WINDOW_MS,
});

/** Defaults for a single-machine install; together they reserve about 15 GiB of JetStream file store. */
export const DEFAULT_LIMITS: TopologyLimits = {
  streams: {
    EXEC: stream(7, 1 * GiB),
    RESULTS: stream(30, 4 * GiB),
    EVENTS: stream(30, 1 * GiB),
    OBS_EVENTS: stream(90, 1 * GiB),
    INVENTORY: stream(90, 512 * MiB),
    AUDIT: stream(365, 1 * GiB),
  },
  buckets: {
    jobs: { maxBytes: 64 * MiB, history: 64 },
    jobs_yaml: { maxBytes: 64 * MiB, history: 64 },
    schedules: { maxBytes: 64 * MiB, history: 64 },
    schedules_yaml: { maxBytes: 64 * MiB, history: 64 },
    scheduler_state: { maxBytes: 16 * MiB, history: 8 },
    script_current: { maxBytes: 16 * MiB, history: 16 },
    script_status: { maxBytes: 16 * MiB, history: 16 },
    agents_state: { maxBytes: 128 * MiB, history: 1 },
    agent_config: { maxBytes: 16 * MiB, history: 16 },
    agent_groups: { maxBytes: 32 * MiB, history: 8 },
    auth: { maxBytes: 16 * MiB, history: 8 },
  },
  objectStores: {
    result_output: { maxBytes: 2 * GiB, maxAgeMs: 30 * DAY },
    scripts: { maxBytes: 512 * MiB, maxAgeMs: 0 },
    app_packages: { maxBytes: 2 * GiB, maxAgeMs: 0 },
    agent_releases: { maxBytes: 1 * GiB, maxAgeMs: 0 },
  },
};

/**
 * Scales every byte limit by `factor` (ages, history and windows stay). Tests use a small factor so
 * that many servers fit on one disk; operators use it to size an install in one step.
 */
export function scaleLimits(limits: TopologyLimits, factor: number): TopologyLimits {
  if (!(factor > 0)) throw new RangeError(`limit scale must be > 0, got ${factor}`);
  const bytes = (n: number) => Math.max(MiB, Math.round(n * factor));
  const mapValues = <K extends string, V extends { maxBytes: number }>(rec: Record<K, V>): Record<K, V> =>
    Object.fromEntries(
      Object.entries<V>(rec).map(([k, v]) => [k, { ...v, maxBytes: bytes(v.maxBytes) }]),
    ) as Record<K, V>;
  return {
    streams: mapValues(limits.streams),
    buckets: mapValues(limits.buckets),
    objectStores: mapValues(limits.objectStores),
  };
}

/** Total bytes the topology reserves from the server's JetStream store. */
export function reservedBytes(limits: TopologyLimits): number {
  const sum = (rec: Record<string, { maxBytes: number }>) =>
    Object.values(rec).reduce((a, v) => a + v.maxBytes, 0);
  return sum(limits.streams) + sum(limits.buckets) + sum(limits.objectStores);
}
