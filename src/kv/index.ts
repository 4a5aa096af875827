export { ensureResource, ensureTopology, diffFields, streamInfoOrNull, TopologyError } from './bootstrap.js';
export type { ResourceChange } from './bootstrap.js';
export { DEFAULT_LIMITS, DUPLICATE_WINDOW_MS, reservedBytes, scaleLimits } from './limits.js';
export type { BucketLimits, ObjectStoreLimits, StreamLimits, TopologyLimits } from './limits.js';
export { BUCKETS, OBJECT_STORES, STREAMS, kvStreamName, objectStreamName, resultOutputKey } from './names.js';
export type { BucketName, ObjectStoreName, StreamName } from './names.js';
export { topologyStatus } from './status.js';
export type { ResourceStatus } from './status.js';
export { EXEC_MAX_CONSUMERS, topologySpec } from './topology.js';
export type { ManagedFields, ResourceKind, ResourceSpec, TopologyOptions } from './topology.js';
export { auditFilter, publishAudit, readAudit, AuditPublishError } from './audit-log.js';
export type { AuditDraft, AuditQuery } from './audit-log.js';
export { ConflictError, InvalidInputError, NotFoundError, isRevisionMismatch } from './errors.js';
export {
  ARTIFACT_STORES,
  ArtifactStore,
  MissingObjectError,
  WRITE_CHUNK_BYTES,
  digestHex,
  pinJobObjects,
  requireRef,
} from './artifact-store.js';
export type { ArtifactInfo, ArtifactKind } from './artifact-store.js';
export { fileSource, jobsUsing, putArtifact, removeArtifact, sha256File } from './artifact-writes.js';
export type { ArtifactPut, ArtifactPutResult } from './artifact-writes.js';
export { changedPaths, executeApply, planApply, planObject } from './job-apply.js';
export type {
  ApplyInput,
  ApplyOptions,
  ApplyResult,
  PlanAction,
  PlanCore,
  PlanCurrent,
  PlanItem,
} from './job-apply.js';
export { JobStore, StoredJob, WriteStamp, isHumanEdit, jobSummary, stampOf } from './job-store.js';
export type { DeletedJob, JobRecord, JobStatus, WriteMeta } from './job-store.js';
export { AgentDirectory, GroupList } from './agent-directory.js';
export { DEFAULT_ADHOC_DEADLINE_MS, execScriptJob, startExecution } from './exec-publisher.js';
export { KILL_REPLY_WAIT_MS, requestKill } from './exec-kill.js';
export type { KillReply } from './exec-kill.js';
export type { StartExecution, StartedExecution } from './exec-publisher.js';
export { AgentConfigStore } from './agent-config-store.js';
export { AgentReleaseStore, ReleaseIntegrityError } from './agent-releases.js';
export type { AgentRelease } from './agent-releases.js';
export type { EffectiveConfig } from './agent-config-store.js';
export { readOutput, watchResults } from './result-reader.js';
export { ScheduleStore, StoredSchedule, scheduleFromEntry } from './schedule-store.js';
export type { ScheduleRecord } from './schedule-store.js';
export {
  checkScheduleJobs,
  executeScheduleApply,
  planScheduleApply,
  schedulesAfterApply,
} from './schedule-apply.js';
export type { ScheduleApplyInput, ScheduleApplyResult, SchedulePlanItem } from './schedule-apply.js';
export { FREEZE_KEY, FreezeState, SchedulerState, fireKey, isFrozen } from './scheduler-state.js';
export {
  AuthStore,
  ROLES,
  Role,
  SCRYPT,
  StoredToken,
  StoredUser,
  UserName,
  hashPassword,
  roleAtLeast,
  verifyPassword,
} from './auth-store.js';
export type { Principal, TokenRecord, UserRecord } from './auth-store.js';
export { editJob, executeCatalogApply, planCatalogApply } from './catalog-writes.js';
export type { CatalogPlan, JobEdit } from './catalog-writes.js';
export { consumerName, ensureExecConsumer, filterSubjects } from './agent-consumer.js';
export { writeObject } from './object-writer.js';
export type { WrittenObject } from './object-writer.js';
export { PLATFORM_ROLES, agentInboxPrefix, agentPermissions, platformPermissions } from './permissions.js';
export type { Permissions, PlatformRole } from './permissions.js';
export { ACCOUNT_NAME, Authority, AuthorityError, pushAccountJwt } from './authority.js';
export type { UserIdentity } from './authority.js';
export {
  AgentIdentities,
  DEFAULT_ENROLL_TTL_MS,
  EnrollmentError,
  StoredAgentIdentity,
  StoredEnrollment,
} from './agent-identity.js';
