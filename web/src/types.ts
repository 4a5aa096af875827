// Shapes the API serves (docs/api.md). Fields the SPA does not need are left out; readers are
// lenient: optional fields are checked before use, since the backend may add or omit some.

export const RUN_STATES = [
  'queued',
  'delivered',
  'running',
  'retrying',
  'ok',
  'failed',
  'timeout',
  'killed',
  'skipped',
  'error',
  'expired',
] as const;
export type RunState = (typeof RUN_STATES)[number];

export type User = { name: string; /** `viewer`, `operator` or `admin`. */ role: string };

export type Dashboard = {
  agents: { online: number; offline: number; total?: number };
  runs24h: Partial<Record<RunState, number>> & Record<string, number>;
  /** `at` per the first contract; the backend sends `utc` and `local` (the schedule's zone). */
  upcomingFires: { scheduleId: string; jobId: string; at?: string; utc?: string; local?: string }[];
  /** Failed executions (or per-pc failures): whichever fields are present are shown. */
  recentFailures: (Partial<Execution> & {
    pcId?: string;
    exitCode?: number | null;
    resultId?: string;
    at?: string;
  })[];
  frozen?: boolean;
};

export type Counts = Partial<Record<RunState, number>> & { total?: number };

export type Execution = {
  execId: string;
  jobId: string;
  jobVersion?: string;
  jobRevision?: number | null;
  trigger?: string | { kind?: string; actor?: string; scheduleId?: string } | null;
  actor?: string | null;
  scheduleId?: string | null;
  expected?: number | null;
  startedAt?: string | null;
  createdAt?: string | null;
  finishedAt?: string | null;
  status?: string;
  final?: boolean;
  counts?: Counts;
  targets?: unknown[];
  params?: Record<string, string>;
} & Counts;

export type PcRun = {
  pcId: string;
  /** A RunState; kept open for states newer backends add. */
  state: string;
  exitCode: number | null;
  resultId: string | null;
  /** The request this pc received (for its live output while it runs). */
  requestId?: string | null;
  durationMs: number | null;
  reason?: string | null;
  finishedAt?: string | null;
};

export type OutputGroup = {
  sha256?: string;
  stdoutSha256?: string;
  status: string;
  exitCode: number | null;
  count: number;
  pcs: string[];
  preview?: string;
  sampleResultId?: string;
};

/** `pcs`/`total` per the first contract; the backend serves `runs: {total, offset, limit, items}`. */
export type ExecutionDetail = {
  execution: Execution;
  pcs?: PcRun[];
  total?: number;
  runs?: { total: number; offset?: number; limit?: number; items: PcRun[] };
  outputGroups: OutputGroup[];
};

export function pcRunsOf(d: ExecutionDetail): { pcs: PcRun[]; total: number } {
  const pcs = d.pcs ?? d.runs?.items ?? [];
  return { pcs, total: d.total ?? d.runs?.total ?? pcs.length };
}

/** `stored` says where the full stream is: inline in the result, or the object store. */
export type OutputMeta = {
  bytes: number;
  sha256?: string;
  overflowed?: boolean;
  stored?: string;
  dropped?: number;
};

export type Result = {
  resultId: string;
  execId?: string;
  pcId?: string;
  jobId?: string;
  jobVersion?: string;
  status: string;
  exitCode: number | null;
  reason?: string | null;
  startedAt?: string | null;
  finishedAt?: string;
  durationMs?: number;
  stdout?: OutputMeta | number;
  stderr?: OutputMeta | number;
  stdoutBytes?: number;
  stderrBytes?: number;
  sha256?: string;
  overflowed?: boolean;
};

export type Written = { actor?: { name?: string; kind?: string }; via?: string; at?: string };

export type CatalogItem = {
  id: string;
  revision?: number;
  status?: string;
  version?: string;
  description?: string;
  pinnedVersion?: string | null;
  enabled?: boolean;
  job?: string;
  cron?: string;
  timezone?: string;
  written?: Written;
  updatedAt?: string;
  updatedBy?: string;
  via?: string;
  next?: string | null;
  targets?: string[];
  manifest?: Record<string, unknown>;
  schedule?: Record<string, unknown>;
};

export type CatalogDetail = CatalogItem & { yaml: string; revision: number };

export type AuditEvent = {
  id: string;
  at: string;
  actor: { kind?: string; name: string } | string;
  action: string;
  target: { kind?: string; id?: string } | string;
  revisionBefore?: number | null;
  revisionAfter?: number | null;
  source?: { via?: string } | string;
  summary: string;
  details?: Record<string, unknown>;
};

export type Agent = {
  pcId: string;
  online: boolean;
  hostname?: string;
  os?: string;
  arch?: string;
  agentVersion?: string;
  groups?: string[];
  startedAt?: string;
  lastSeenAt?: string;
  running?: unknown[];
};

/** `agent` (the backend) or `state` (the first contract) holds the roster row; groups may be a list or {groups, revision}. */
export type AgentDetail = Omit<Agent, 'groups' | 'online'> & {
  online?: boolean;
  agent?: Agent | null;
  state?: Agent;
  groups?: string[] | { groups: string[]; revision?: number | null };
  config?: { values: Record<string, unknown>; sources: Record<string, string> };
};

export type TimelineEvent = {
  id: string;
  at: string;
  kind: string;
  source: string;
  payload?: Record<string, unknown>;
  details?: Record<string, unknown>;
};

/** Lists come as arrays or as {items,total,nextCursor}; this reads both. */
export type Page<T> = { items: T[]; total?: number; nextCursor?: string | null; cursor?: string | null };

export function itemsOf<T>(x: T[] | Page<T> | Record<string, unknown> | undefined, key?: string): T[] {
  if (!x) return [];
  if (Array.isArray(x)) return x;
  const p = x as Page<T> & Record<string, unknown>;
  if (Array.isArray(p.items)) return p.items;
  if (key && Array.isArray(p[key])) return p[key] as T[];
  for (const v of Object.values(p)) if (Array.isArray(v)) return v as T[];
  return [];
}

export function nextCursorOf(x: unknown): string | null {
  if (!x || Array.isArray(x) || typeof x !== 'object') return null;
  const p = x as { nextCursor?: unknown; cursor?: unknown };
  const c = p.nextCursor ?? p.cursor;
  return typeof c === 'string' && c !== '' ? c : null;
}

/** Counters of an execution, whether flat or under `counts`. */
export function countsOf(e: Execution): Counts {
  const out: Counts = {};
  for (const s of RUN_STATES) {
    const v = e.counts?.[s] ?? e[s];
    if (typeof v === 'number') out[s] = v;
  }
  const total = e.counts?.total ?? e.total ?? e.expected ?? undefined;
  if (typeof total === 'number') out.total = total;
  return out;
}

export const FINAL_STATES: ReadonlySet<string> = new Set([
  'ok',
  'failed',
  'timeout',
  'killed',
  'skipped',
  'error',
  'expired',
]);

export function actorName(a: AuditEvent['actor'] | undefined): string {
  if (!a) return '';
  return typeof a === 'string' ? a : a.name;
}

export function targetLabel(t: AuditEvent['target'] | undefined): string {
  if (!t) return '';
  if (typeof t === 'string') return t;
  return [t.kind, t.id].filter(Boolean).join(' ');
}

/** A run target as people write it: `all`, `group:lab`, `pc:web-01` (same form as `baton run --target`). */
export function formatRunTarget(t: unknown): string {
  const v = t as { kind?: string; group?: string; pcId?: string };
  if (v?.kind === 'all') return 'all';
  if (v?.kind === 'group' && v.group) return `group:${v.group}`;
  if (v?.kind === 'pc' && v.pcId) return `pc:${v.pcId}`;
  return JSON.stringify(t);
}

/** One inventory snapshot of one source (`builtin`, or the job `jobId`). */
export type InventorySnapshot = {
  id: string;
  at: string;
  source: string;
  jobId: string | null;
  data: Record<string, unknown>;
};

export type InventoryChange = {
  field: string;
  change: 'added' | 'removed' | 'changed';
  from?: unknown;
  to?: unknown;
};

/** `GET /api/inventory/:pc`: the latest snapshot per source and the changes between snapshots. */
export type InventoryView = {
  pcId: string;
  latest: InventorySnapshot[];
  history: (Omit<InventorySnapshot, 'data'> & { initial: boolean; changes: InventoryChange[] })[];
};
