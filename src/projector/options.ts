// Projector options: the public shape (everything optional, defaults documented here) and the
// resolved shape the components use. Defaults are written in one place: resolveProjectorOptions.
/** The logging interface the projector takes (pino's shape). Messages are constant strings. */
export type ProjectorLogFn = (fields: Record<string, unknown>, msg: string) => void;
export type ProjectorLogger = {
  debug: ProjectorLogFn;
  info: ProjectorLogFn;
  warn: ProjectorLogFn;
  error: ProjectorLogFn;
};

export const silentProjectorLogger: ProjectorLogger = { debug() {}, info() {}, warn() {}, error() {} };

export type ProjectorOptions = {
  /** Path of the SQLite file; created (with its folder) when missing. Required. */
  dbPath: string;
  /**
   * Names this projector's durable consumers (`projector-<instance>-results`, ...), so two
   * projectors with two SQLite files can run side by side. Default `default`.
   */
  instance?: string;
  /** Most messages applied in one SQLite transaction. Default 500. */
  batchSize?: number;
  /** A partial batch is committed after waiting this long for more messages. Default 50 ms. */
  flushAfterMs?: number;
  /** JetStream redelivers a message not acked within this time. Default 30 s. */
  ackWaitMs?: number;
  /** The agents' heartbeat interval; an agent is offline after 3 of them without one. Default 15 s. */
  heartbeatMs?: number;
  /** How often expired runs are marked and presence is checked. Default 5 s. */
  sweepEveryMs?: number;
  /** Rows older than this many days are deleted by the retention sweep. Default 30. */
  retentionDays?: number;
  /** How often the retention sweep runs. Default 1 h. */
  retentionEveryMs?: number;
  /** Rows deleted per retention transaction. Default 1000. */
  retentionBatch?: number;
  /** Emit `agent_online`/`agent_offline` ObsEvents on presence changes. Default true. */
  emitPresence?: boolean;
  /** Default: a silent logger. */
  logger?: ProjectorLogger;
  /** The clock (tests). Default `Date.now`. */
  now?: () => number;
};

export type ResolvedProjectorOptions = Required<Omit<ProjectorOptions, 'logger' | 'now'>> & {
  logger: ProjectorLogger;
  now: () => number;
};

export const PROJECTOR_DEFAULTS = {
  instance: 'default',
  batchSize: 500,
  flushAfterMs: 50,
  ackWaitMs: 30_000,
  heartbeatMs: 15_000,
  sweepEveryMs: 5_000,
  retentionDays: 30,
  retentionEveryMs: 3_600_000,
  retentionBatch: 1_000,
  emitPresence: true,
} as const;

const INSTANCE = /^[A-Za-z0-9_-]{1,64}$/;

export class ProjectorOptionsError extends Error {
  override name = 'ProjectorOptionsError';
}

export function resolveProjectorOptions(opts: ProjectorOptions): ResolvedProjectorOptions {
  const r: ResolvedProjectorOptions = {
    ...PROJECTOR_DEFAULTS,
    ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)),
    dbPath: opts.dbPath,
    logger: opts.logger ?? silentProjectorLogger,
    now: opts.now ?? Date.now,
  };
  if (!INSTANCE.test(r.instance)) {
    throw new ProjectorOptionsError(
      `invalid projector instance '${r.instance}': must be 1-64 letters, digits, '-' or '_'`,
    );
  }
  for (const key of [
    'batchSize',
    'ackWaitMs',
    'heartbeatMs',
    'sweepEveryMs',
    'retentionEveryMs',
    'retentionBatch',
  ] as const) {
    if (!Number.isInteger(r[key]) || r[key] <= 0) {
      throw new ProjectorOptionsError(
        `invalid projector option ${key}: ${r[key]}; must be a positive integer`,
      );
    }
  }
  if (!(r.retentionDays > 0)) {
    throw new ProjectorOptionsError(
      `invalid projector option retentionDays: ${r.retentionDays}; must be > 0`,
    );
  }
  return r;
}

/** The durable consumer name of `instance` on `stream`: `projector-<instance>-results`. */
export function durableName(instance: string, stream: string): string {
  return `projector-${instance}-${stream.toLowerCase().replace(/_/g, '-')}`;
}
