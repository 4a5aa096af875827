// The queries the backend needs from the read model (the SQLite projection). The backend does not
// import the projector (roles never import each other): the composition root (`baton backend`)
// adapts the projector's ReadModel to this interface. Rows are passed to clients as they are;
// the types name the fields the backend itself reads.
import type { AuditEvent, OutputStream } from '../wire/index.js';

export type ExecutionStatus = 'running' | 'ok' | 'failed';

export type ExecutionView = {
  execId: string;
  jobId: string;
  status: ExecutionStatus;
  startedAt: string | null;
  finishedAt: string | null;
  deadlineAt: string | null;
  scheduleId: string | null;
  counts: Record<string, number> & { total: number };
};

export type RunView = { pcId: string; state: string; resultId: string | null };

export type OutputGroupView = { stdoutSha256: string; count: number; pcs: string[]; sampleResultId: string };

export type ResultView = {
  resultId: string;
  execId: string;
  pcId: string;
  jobId: string;
  status: string;
  finishedAt: string;
  stdout: OutputStream;
  stderr: OutputStream;
};

export type AgentView = {
  pcId: string;
  online: boolean;
  hostname: string;
  groups: string[];
  lastSeenAt: string;
  agentVersion: string;
};

export type TimelineView = { at: string; kind: string; id: string };

/** One inventory snapshot: the facts of one source (`builtin`, or the job `jobId`) at `at`. */
export type InventorySnapshotView = {
  id: string;
  at: string;
  source: string;
  jobId: string | null;
  data: Record<string, unknown>;
};

/** One snapshot compared with the previous one of its source: dotted fields added, removed, changed. */
export type InventoryHistoryView = {
  id: string;
  at: string;
  source: string;
  jobId: string | null;
  initial: boolean;
  changes: { field: string; change: 'added' | 'removed' | 'changed'; from?: unknown; to?: unknown }[];
};

export type ReadModel = {
  /** Executions newest first (started_at), filtered; `limit` rows at most. */
  executions(f: {
    jobId?: string;
    status?: ExecutionStatus;
    since?: string;
    limit?: number;
  }): ExecutionView[];
  execution(execId: string): ExecutionView | undefined;
  /** Every per-pc run of an execution, by pc id. */
  runs(execId: string): RunView[];
  outputGroups(execId: string): OutputGroupView[];
  result(resultId: string): ResultView | undefined;
  agents(nowMs: number): AgentView[];
  agent(pcId: string, nowMs: number): AgentView | undefined;
  /** The newest `limit` entries at or after `since`, oldest first. */
  timeline(pcId: string, f: { since?: string; kinds?: string[]; limit?: number }): TimelineView[];
  /** The latest inventory snapshot of each source of a pc. */
  inventory(pcId: string): InventorySnapshotView[];
  /** The newest `limit` snapshots per source, oldest first, each with its changes. */
  inventoryHistory(pcId: string, f: { limit?: number }): InventoryHistoryView[];
  /** The newest `limit` receipts, oldest first. */
  audit(f: { action?: string; target?: string; limit?: number }): AuditEvent[];
};
