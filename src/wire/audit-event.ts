/**
 * AuditEvent: the receipt of one change made by an operator, the scheduler, the system or an
 * agent, published on `audit.<action>` (e.g. `audit.job.create`).
 */
import { z } from 'zod';

import { decodeMessage, encodeMessage } from './codec.js';
import {
  EventId,
  JsonRecord,
  KindToken,
  NullableRevision,
  Timestamp,
  WireVersion,
  oneLine,
} from './fields.js';

/** `job.create`, `schedule.disable`, `run.start`: a noun, then one or more verbs, lowercase. */
export const AUDIT_ACTION_PATTERN = /^[a-z]+(\.[a-z_]+)+$/;

/** A structured action; also the tail of the audit subject. */
export const AuditAction = z
  .string()
  .max(128, { error: 'must be at most 128 characters' })
  .regex(AUDIT_ACTION_PATTERN, { error: "must look like 'job.create': lowercase words joined by '.'" });
export type AuditAction = z.infer<typeof AuditAction>;

/** Who made the change. `name` is a user name, a schedule id, a component or a pc id. */
export const AuditActor = z.object({
  kind: z.enum(['user', 'scheduler', 'system', 'agent']),
  name: oneLine(200),
});
export type AuditActor = z.infer<typeof AuditActor>;

/** What was changed: `{kind:'job', id:'backup'}`, `{kind:'exec', id:'01J...'}`. */
export const AuditTarget = z.object({ kind: KindToken, id: z.string().min(1).max(512) });
export type AuditTarget = z.infer<typeof AuditTarget>;

/** Through which door the change came; `file` and `gitCommit` for `apply` from a repository. */
export const AuditSource = z.object({
  via: z.enum(['cli', 'api', 'apply', 'scheduler', 'system']),
  /** Path of the applied file, relative to the repository. */
  file: z.string().min(1).optional(),
  /** Commit the applied file came from: 7-64 lowercase hex characters. */
  gitCommit: z
    .string()
    .regex(/^[0-9a-f]{7,64}$/, { error: 'must be 7-64 lowercase hex characters' })
    .optional(),
});
export type AuditSource = z.infer<typeof AuditSource>;

/** AuditEvent, wire version 1. */
export const AuditEvent = z.object({
  v: WireVersion,
  /** Unique receipt id (a `newId()`); also the `Nats-Msg-Id`. */
  id: EventId,
  at: Timestamp,
  actor: AuditActor,
  action: AuditAction,
  target: AuditTarget,
  /** KV revision before the change; `null` when the key did not exist (or no KV is involved). */
  revisionBefore: NullableRevision,
  /** KV revision after the change; `null` for deletes (or when no KV is involved). */
  revisionAfter: NullableRevision,
  source: AuditSource,
  /** One line for people: `created job backup (version 3)`, at most 300 characters. */
  summary: oneLine(300),
  /** Structured extras, any JSON object. Default: none. */
  details: JsonRecord.optional(),
});
export type AuditEvent = z.infer<typeof AuditEvent>;
/** What a writer passes to {@link encodeAuditEvent}. */
export type AuditEventInput = z.input<typeof AuditEvent>;

/** Reads an AuditEvent (JSON value, bytes or string); unknown fields are dropped. Throws WireError. */
export function parseAuditEvent(json: unknown): AuditEvent {
  return decodeMessage(AuditEvent, 'AuditEvent', json);
}

/** Writes an AuditEvent as UTF-8 JSON; unknown fields are rejected. Throws WireError. */
export function encodeAuditEvent(msg: AuditEventInput): Uint8Array {
  return encodeMessage(AuditEvent, 'AuditEvent', msg);
}
