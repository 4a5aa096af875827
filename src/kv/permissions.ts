// What each NATS identity may do, as data: the permissions baked into its user JWT. An agent's
// list is an allow-list built from its pc id (DESIGN.md: every subject an agent publishes on
// starts with its pc id); anything not listed is denied by the server. The platform roles are
// trusted processes and get allow-all minus what their role never needs, so a bug or a stolen
// scheduler credential cannot, say, kill runs or rewrite jobs. docs/security.md explains each line.
import { STREAMS, BUCKETS, OBJECT_STORES, kvStreamName, objectStreamName } from './names.js';
import { consumerName } from './agent-consumer.js';

export type Permissions = {
  pub: { allow?: string[]; deny?: string[] };
  sub: { allow?: string[]; deny?: string[] };
  /** Lets the holder answer requests sent to it (ctl ping/kill replies). */
  resp?: { max: number; ttl: number };
};

/** The inbox prefix of an agent's connection: replies to its requests land only there. */
export const agentInboxPrefix = (pcId: string): string => `_INBOX_${pcId}`;

/** Object stores an agent may read (script bodies, packages, its own releases), never write. */
const AGENT_READABLE_OBJECTS = [
  OBJECT_STORES.scripts,
  OBJECT_STORES.appPackages,
  OBJECT_STORES.agentReleases,
];

const directGet = (bucket: string, key: string) =>
  `$JS.API.DIRECT.GET.${kvStreamName(bucket)}.$KV.${bucket}.${key}`;

/**
 * An agent: its own subjects, its own EXEC consumer (bind, pull, ack; never create or change it,
 * or it could widen its filters to another pc's requests), the KV keys it reads (direct gets
 * scoped by key), result output objects (write only, no reads of others' output), object reads
 * for scripts, packages and releases, and control subjects addressed to it.
 */
export function agentPermissions(pcId: string): Permissions {
  const consumer = consumerName(pcId);
  const configKeys = ['global', `pcs.${pcId}`, 'groups.*'];
  const objectReads = AGENT_READABLE_OBJECTS.flatMap((store) => {
    const stream = objectStreamName(store);
    return [
      `$JS.API.STREAM.INFO.${stream}`,
      `$JS.API.STREAM.MSG.GET.${stream}`,
      `$JS.API.DIRECT.GET.${stream}.>`,
      `$JS.API.CONSUMER.CREATE.${stream}`,
      `$JS.API.CONSUMER.CREATE.${stream}.>`,
      `$JS.API.CONSUMER.INFO.${stream}.>`,
      `$JS.API.CONSUMER.MSG.NEXT.${stream}.>`,
      `$JS.API.CONSUMER.DELETE.${stream}.>`,
      `$JS.FC.${stream}.>`,
    ];
  });
  return {
    pub: {
      allow: [
        `results.${pcId}.>`,
        `events.${pcId}.>`,
        `obs.${pcId}`,
        `inventory.${pcId}`,
        `heartbeat.${pcId}`,
        `out.${pcId}.>`,
        `$KV.${BUCKETS.agentsState}.${pcId}`,
        `$O.${OBJECT_STORES.resultOutput}.C.>`,
        `$O.${OBJECT_STORES.resultOutput}.M.>`,
        '$JS.API.INFO',
        `$JS.API.CONSUMER.INFO.${STREAMS.exec}.${consumer}`,
        `$JS.API.CONSUMER.MSG.NEXT.${STREAMS.exec}.${consumer}`,
        `$JS.ACK.${STREAMS.exec}.${consumer}.>`,
        `$JS.API.DIRECT.GET.${kvStreamName(BUCKETS.scriptStatus)}.>`,
        `$JS.API.DIRECT.GET.${kvStreamName(BUCKETS.scriptCurrent)}.>`,
        directGet(BUCKETS.agentGroups, pcId),
        ...configKeys.map((k) => directGet(BUCKETS.agentConfig, k)),
        ...objectReads,
      ],
    },
    sub: {
      allow: [
        `${agentInboxPrefix(pcId)}.>`,
        `ctl.${pcId}.>`,
        'ctl.all.>',
        'ctl.group.*.>',
        `$KV.${BUCKETS.agentGroups}.${pcId}`,
        ...configKeys.map((k) => `$KV.${BUCKETS.agentConfig}.${k}`),
        // Changes of what it may read anyway (direct gets), to cache the skip checks' values.
        `$KV.${BUCKETS.scriptStatus}.>`,
        `$KV.${BUCKETS.scriptCurrent}.>`,
      ],
    },
    resp: { max: 1, ttl: 60_000_000_000 },
  };
}

/** The identities of the platform's own processes. `admin` is the operator's CLI. */
export const PLATFORM_ROLES = ['admin', 'backend', 'scheduler', 'projector'] as const;
export type PlatformRole = (typeof PLATFORM_ROLES)[number];

const STREAM_ADMIN = ['$JS.API.STREAM.DELETE.>', '$JS.API.STREAM.PURGE.>'];
const CATALOG_WRITES = [
  BUCKETS.jobs, BUCKETS.jobsYaml, BUCKETS.schedules, BUCKETS.schedulesYaml, BUCKETS.scriptCurrent,
  BUCKETS.scriptStatus, BUCKETS.agentConfig, BUCKETS.agentGroups, BUCKETS.auth,
].map((b) => `$KV.${b}.>`); // prettier-ignore
const AGENT_SUBJECTS = ['results.>', 'events.>', 'inventory.>', 'heartbeat.>', 'out.>'];

export function platformPermissions(role: PlatformRole): Permissions {
  switch (role) {
    case 'admin':
    case 'backend':
      return { pub: {}, sub: {} };
    case 'scheduler':
      // Publishes requests and receipts, keeps its marks in scheduler_state; never controls runs,
      // edits the catalog or speaks for an agent.
      return {
        pub: { deny: ['ctl.>', 'obs.>', '$O.>', ...AGENT_SUBJECTS, ...CATALOG_WRITES, ...STREAM_ADMIN] },
        sub: {},
      };
    case 'projector':
      // Reads every stream into SQLite and reports agent presence on obs.<pc>; publishes nothing else.
      return {
        pub: {
          deny: ['exec.>', 'ctl.>', 'audit.>', '$O.>', '$KV.>', ...AGENT_SUBJECTS, ...STREAM_ADMIN],
        },
        sub: {},
      };
    default: {
      const never: never = role;
      throw new Error(`unknown platform role '${String(never)}'`);
    }
  }
}
