// Entry module of src/projector: explicit named exports.
export { AgentsWatch } from './agents-watch.js';
export { BatchApplyError, BatchWorker } from './batch-worker.js';
export { decodeBatch, decodeStreamMessage } from './decode.js';
export type { Op } from './decode.js';
export { DbLockedError, acquireDbLock, lockFileOf, lockHolder } from './db-lock.js';
export { BUSY_TIMEOUT_MS, openProjectionDb, openReadOnlyDb } from './db.js';
export type { Db } from './db.js';
export {
  PROJECTOR_DEFAULTS,
  ProjectorOptionsError,
  durableName,
  resolveProjectorOptions,
  silentProjectorLogger,
} from './options.js';
export type { ProjectorLogger, ProjectorOptions, ResolvedProjectorOptions } from './options.js';
export { MISSED_HEARTBEATS, isOnline, presenceEvents } from './presence.js';
export type { AgentSighting, LastPresence } from './presence.js';
export {
  AGENTS_KV_SOURCE,
  PROJECTED_STREAMS,
  Projection,
  ProjectionInputError,
  isStorageError,
} from './projection.js';
export type { AgentEntry, ApplyUnit, BatchOutcome, ProjectedStream, RawMessage } from './projection.js';
export { addMessage, decodeRawBatch, emptyBatch, messagesOf } from './decoded-batch.js';
export type { DecodedBatch } from './decoded-batch.js';
export { Projector, deleteDurables, removeDbFiles } from './projector.js';
export type { ProjectorState, ProjectorStats } from './projector.js';
export { DEFAULT_HEARTBEAT_MS } from './queries-agents.js';
export type { AgentRow } from './queries-agents.js';
export { actionGlobs } from './queries-audit.js';
export type { AuditFilter } from './queries-audit.js';
export type { ResultRow } from './queries-results.js';
export { EXECUTION_STATUSES, RUN_STATES } from './queries-runs.js';
export type {
  ExecutionCounts,
  ExecutionFilter,
  ExecutionRow,
  ExecutionStatus,
  OutputGroup,
  RunRow,
  RunState,
} from './queries-runs.js';
export { diffInventory, flattenInventory } from './queries-inventory.js';
export type {
  InventoryChange,
  InventoryFilter,
  InventoryHistoryEntry,
  InventorySnapshot,
} from './queries-inventory.js';
export { dumpTable, tableCounts } from './queries-tables.js';
export { RUN_TIMELINE_KINDS } from './queries-timeline.js';
export type { TimelineEntry, TimelineFilter } from './queries-timeline.js';
export { ReadModel } from './read-model.js';
export { RebuildError, rebuildProjection } from './rebuild.js';
export type { RebuildOptions, RebuildReport } from './rebuild.js';
export {
  MIGRATIONS,
  PROJECTION_TABLES,
  SCHEMA_VERSION,
  SchemaError,
  migrate,
  schemaVersion,
} from './schema.js';
export type { Migration, ProjectionTable } from './schema.js';
export { canonicalJson, iso } from './values.js';
