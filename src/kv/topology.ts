// The desired state of every stream, KV bucket and object store, as data. The bootstrap
// (bootstrap.ts) creates what is missing and reconciles these fields on what exists.
import { DEFAULT_LIMITS, type TopologyLimits } from './limits.js';
import { BUCKETS, OBJECT_STORES, STREAMS, kvStreamName, objectStreamName, type StreamName } from './names.js';
import { STREAM_SUBJECTS } from '../wire/index.js';

export type ResourceKind = 'stream' | 'kv' | 'object';

/** The stream config fields baton owns; anything else on a stream is left as the server has it. */
export type ManagedFields = {
  subjects?: string[];
  max_age: number; // nanoseconds, 0 = no age limit
  max_bytes: number;
  duplicate_window?: number; // nanoseconds
  discard?: 'old' | 'new';
  max_msgs_per_subject?: number;
  max_consumers?: number;
  num_replicas: number;
  description: string;
};

export type ResourceSpec = {
  kind: ResourceKind;
  /** Stream, bucket or object store name as users see it. */
  name: string;
  /** The JetStream stream that holds it (`KV_jobs`, `OBJ_scripts`, `EXEC`). */
  stream: string;
  fields: ManagedFields;
};

export type TopologyOptions = {
  /** Replicas of every stream, bucket and object store (3 in a cluster). Default 1. */
  replicas?: number;
  /** Limits of every resource. Default DEFAULT_LIMITS. */
  limits?: TopologyLimits;
};

const ns = (ms: number) => ms * 1_000_000;

/**
 * Consumers allowed on EXEC: every agent has its own durable consumer there. Set on the stream
 * itself because nats-server 2.11+ otherwise caps a stream at 1,000 consumers (its
 * `default_max_consumers`), and a server-wide setting would not parse on 2.10.
 */
export const EXEC_MAX_CONSUMERS = 1_000_000;

const STREAM_DESCRIPTIONS: Record<StreamName, string> = {
  EXEC: 'baton exec requests (exec.all, exec.group.<g>, exec.pc.<pc>)',
  RESULTS: 'baton exec results (results.<pc>.<request>)',
  EVENTS: 'baton run lifecycle events (events.<pc>.<kind>)',
  OBS_EVENTS: 'baton per-endpoint timeline events (obs.<pc>)',
  INVENTORY: 'baton inventory snapshots (inventory.<pc>)',
  AUDIT: 'baton audit receipts (audit.<action>)',
};

const BUCKET_DESCRIPTIONS: Record<string, string> = {
  jobs: 'baton job manifests (JSON)',
  jobs_yaml: "baton job manifests, the operator's YAML verbatim",
  schedules: 'baton schedules (JSON)',
  schedules_yaml: "baton schedules, the operator's YAML verbatim",
  scheduler_state: 'baton scheduler: last handled fire per schedule, fleet-wide freeze',
  script_current: 'baton version pin per job',
  script_status: 'baton ACTIVE/REVOKED per job',
  agents_state: 'baton latest agent state per pc',
  agent_config: 'baton layered agent config',
  agent_groups: 'baton group memberships per pc',
  auth: 'baton backend users, API tokens (hashed) and login sessions (hashed)',
};

const OBJECT_DESCRIPTIONS: Record<string, string> = {
  result_output: 'baton stdout/stderr over the inline limit',
  scripts: 'baton script bodies pinned by sha256',
  app_packages: 'baton installers and archives',
  agent_releases: 'baton agent builds, one per version',
};

/** Every resource of DESIGN.md with its desired managed fields. */
export function topologySpec(opts: TopologyOptions = {}): ResourceSpec[] {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const replicas = opts.replicas ?? 1;
  const specs: ResourceSpec[] = [];
  for (const name of Object.values(STREAMS)) {
    const l = limits.streams[name];
    specs.push({
      kind: 'stream',
      name,
      stream: name,
      fields: {
        subjects: [...STREAM_SUBJECTS[name]],
        max_age: ns(l.maxAgeMs),
        max_bytes: l.maxBytes,
        duplicate_window: ns(l.duplicateWindowMs),
        discard: 'old',
        ...(name === 'EXEC' ? { max_consumers: EXEC_MAX_CONSUMERS } : {}),
        num_replicas: replicas,
        description: STREAM_DESCRIPTIONS[name],
      },
    });
  }
  for (const name of Object.values(BUCKETS)) {
    const l = limits.buckets[name];
    specs.push({
      kind: 'kv',
      name,
      stream: kvStreamName(name),
      fields: {
        max_age: 0,
        max_bytes: l.maxBytes,
        max_msgs_per_subject: l.history,
        num_replicas: replicas,
        description: BUCKET_DESCRIPTIONS[name] ?? name,
      },
    });
  }
  for (const name of Object.values(OBJECT_STORES)) {
    const l = limits.objectStores[name];
    specs.push({
      kind: 'object',
      name,
      stream: objectStreamName(name),
      fields: {
        max_age: ns(l.maxAgeMs),
        max_bytes: l.maxBytes,
        num_replicas: replicas,
        description: OBJECT_DESCRIPTIONS[name] ?? name,
      },
    });
  }
  return specs;
}
