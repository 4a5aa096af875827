// Entry module of src/wire: explicit named exports, one block per file, sorted by file name.

export {
  AUDIT_ACTION_PATTERN,
  AuditAction,
  AuditActor,
  AuditEvent,
  AuditSource,
  AuditTarget,
  encodeAuditEvent,
  parseAuditEvent,
} from './audit-event.js';
export type { AuditEventInput } from './audit-event.js';

export { CRON_MACROS, cronClock, parseCron } from './cron.js';
export type { CronClock, CronSpec } from './cron.js';

export { Duration, formatDuration, parseDuration } from './duration.js';

export { WireError, quote } from './errors.js';
export type { WireErrorOptions } from './errors.js';

export {
  EmitMode,
  ExecRequest,
  Overlap,
  RetryOn,
  RetryPolicy,
  RunAs,
  ScriptRef,
  Shell,
  Trigger,
  encodeExecRequest,
  parseExecRequest,
} from './exec-request.js';
export type { ExecRequestInput } from './exec-request.js';

export {
  Emitted,
  ExecResult,
  MAX_ATTEMPTS,
  RESULT_REASONS,
  ResultStatus,
  encodeExecResult,
  encodeExecResultJson,
  parseExecResult,
  resultIdFor,
} from './exec-result.js';
export type { ExecResultInput, KnownResultReason } from './exec-result.js';

export {
  JobEventLine,
  MAX_EMITTED_EVENTS,
  MAX_EVENT_LINE_BYTES,
  MAX_JOB_EVENT_ID_LENGTH,
  jobEventId,
  jobInventoryId,
  parseInventoryOutput,
  parseJobEventLine,
} from './job-output.js';

export { AllTarget, ExecTarget, GroupTarget, PcTarget, formatTarget } from './exec-target.js';

export {
  EventId,
  JsonRecord,
  KindToken,
  NonNegativeInt,
  NullableRevision,
  Revision,
  Sha256Hex,
  StringRecord,
  Timestamp,
  WireVersion,
  toTimestamp,
} from './fields.js';

export {
  BATON_OUT_EOF,
  BATON_OUT_SEQ,
  BATON_OUT_STREAM,
  BATON_TYPE,
  BATON_WIRE,
  EXPECTED_LAST_SUBJECT_SEQUENCE,
  EXPECTED_STREAM,
  MESSAGE_TYPES,
  MSG_ID,
} from './headers.js';
export type { MessageType } from './headers.js';

export { KillCommand, encodeKillCommand, parseKillCommand } from './control.js';

export {
  AgentState,
  Heartbeat,
  RunningScript,
  agentStateFromHeartbeat,
  encodeAgentState,
  encodeHeartbeat,
  parseAgentState,
  parseHeartbeat,
} from './heartbeat.js';
export type { AgentStateInput, HeartbeatInput } from './heartbeat.js';

export {
  ExecId,
  GroupName,
  JobId,
  MAX_SLUG_LENGTH,
  MAX_TOKEN_LENGTH,
  PcId,
  RESERVED_NAMES,
  RequestId,
  ScheduleId,
  SubjectToken,
  WIRE_VERSION,
  assertSubjectToken,
  isSubjectToken,
  newId,
} from './ids.js';

export { Inventory, InventorySource, encodeInventory, parseInventory } from './inventory.js';
export type { InventoryInput } from './inventory.js';

export { OBS_KINDS, ObsEvent, ObsSource, encodeObsEvent, parseObsEvent } from './obs-event.js';
export type { KnownObsKind, ObsEventInput } from './obs-event.js';

export {
  AGENT_CONFIG_DEFAULTS,
  AgentConfigLayer,
  CONFIG_SCOPE_RULE,
  layerKeysFor,
  mergeAgentConfig,
  parseConfigScope,
  resolveAgentConfig,
  scopeKey,
} from './agent-config.js';
export type { AgentConfig, AgentConfigKey, ConfigScope } from './agent-config.js';
export { AgentReleaseVersion, AgentUpdateState } from './agent-release.js';
export { ManifestError, formatIssue } from './manifest-error.js';
export type { ManifestIssue } from './manifest-error.js';
export { MANIFEST_KINDS, parseManifestFile, parseManifestFiles } from './manifest-file.js';
export type { ManifestKind, ManifestSource, ParsedJob, ParsedManifests, RawDoc } from './manifest-file.js';
export { manifestIssues } from './manifest-issues.js';
export { MAX_MANIFEST_BYTES, decodeManifestText } from './manifest-text.js';
export {
  JobManifest,
  JobManifestInput,
  RESERVED_JOB_ID,
  manifestJsonSchema,
  toJobManifest,
} from './manifest.js';

export {
  FILE_NAME_RULE,
  MAX_JOB_PACKAGES,
  MAX_OBJECT_NAME_LENGTH,
  OBJECT_REF_RULE,
  ObjectRef,
  PackageFileName,
  PackagePin,
  packageEnvName,
  parseObjectRef,
} from './object-ref.js';

export {
  INLINE_OUTPUT_LIMIT,
  InlineOutput,
  OutputObject,
  OutputStream,
  inlineOutput,
  inlineOutputBytes,
  objectOutput,
  sha256Hex,
} from './output-stream.js';

export {
  MAX_PARAMS,
  MAX_PARAM_VALUE_LENGTH,
  PARAM_TYPES,
  ParamDecl,
  ParamInput,
  ParamName,
  ParamType,
  ParamValues,
  ParamsError,
  ParamsInput,
  brokenSchedules,
  checkValue,
  describeAllowed,
  formatBrokenSchedule,
  formatParamProblem,
  requireValidParams,
  toParamDecls,
  validateParams,
} from './params.js';
export type { BrokenSchedule, ParamDecls, ParamProblem, ParamsResult } from './params.js';

export { RunEvent, RunEventKind, encodeRunEvent, parseRunEvent, runEventIdFor } from './run-event.js';
export type { RunEventInput } from './run-event.js';

export { RunStart, parseRunStart } from './run-start.js';
export type { RunStartInput } from './run-start.js';

export {
  CatchUpPolicy,
  DEFAULT_CATCH_UP,
  DEFAULT_STARTING_DEADLINE,
  Schedule,
  ScheduleInput,
  parseSchedules,
  scheduleJsonSchema,
  showDuration,
  toSchedule,
} from './schedule.js';
export type { ParsedSchedule } from './schedule.js';

export {
  CTL_VERBS,
  STREAM_SUBJECTS,
  auditSubject,
  ctlSubject,
  eventSubject,
  execSubject,
  heartbeatSubject,
  inventorySubject,
  obsSubject,
  outSubject,
  parseSubject,
  resultSubject,
} from './subjects.js';
export type { CtlScope, CtlVerb, ParsedSubject } from './subjects.js';

export { suggest } from './suggest.js';

export {
  formatInZone,
  isTimeZone,
  suggestTimeZone,
  wallClock,
  zoneOffsetMs,
  zonedInstant,
} from './time-zone.js';
