/**
 * Subject builders and the parser that inverts them. Every builder validates its tokens, so a
 * bad id fails where it is used instead of publishing on a wildcard or a wrong subject.
 *
 * Subjects an agent publishes on carry its pc id as the second token, so NATS permissions can
 * confine each agent to `results.<pc_id>.>`, `events.<pc_id>.>`, and so on.
 *
 * Longer than most files on purpose: the builders and their inverse live side by side, so a
 * change to one subject shape is made (and reviewed) in one place.
 */
import { AuditAction } from './audit-event.js';
import { WireError, quote } from './errors.js';
import type { ExecTarget } from './exec-target.js';
import { assertSubjectToken, isSubjectToken } from './ids.js';
import { RunEventKind } from './run-event.js';

/** Subject filters of the streams, keyed by stream name. */
export const STREAM_SUBJECTS = {
  EXEC: ['exec.>'],
  RESULTS: ['results.>'],
  EVENTS: ['events.>'],
  OBS_EVENTS: ['obs.>'],
  INVENTORY: ['inventory.>'],
  AUDIT: ['audit.>'],
} as const;

/** Control verbs: kill a running request, ping for liveness, tail live output. */
export const CTL_VERBS = ['kill', 'ping', 'tail'] as const;
export type CtlVerb = (typeof CTL_VERBS)[number];

/** A control command's scope has the same shape as an exec target. */
export type CtlScope = ExecTarget;

/** `exec.all`, `exec.group.<group>` or `exec.pc.<pc_id>`. */
export function execSubject(target: ExecTarget): string {
  return `exec.${scopeTokens(target)}`;
}

/** `results.<pc_id>.<request_id>`. */
export function resultSubject(pcId: string, requestId: string): string {
  assertSubjectToken('pc id', pcId);
  assertSubjectToken('request id', requestId);
  return `results.${pcId}.${requestId}`;
}

/** `events.<pc_id>.<kind>`, kind one of `accepted`, `started`, `skipped`. */
export function eventSubject(pcId: string, kind: RunEventKind): string {
  assertSubjectToken('pc id', pcId);
  assertRunEventKind(kind);
  return `events.${pcId}.${kind}`;
}

/** `obs.<pc_id>`. */
export function obsSubject(pcId: string): string {
  assertSubjectToken('pc id', pcId);
  return `obs.${pcId}`;
}

/** `inventory.<pc_id>`. */
export function inventorySubject(pcId: string): string {
  assertSubjectToken('pc id', pcId);
  return `inventory.${pcId}`;
}

/** `audit.<action>`, e.g. `auditSubject('job.create')` → `audit.job.create`. */
export function auditSubject(action: string): string {
  if (!AuditAction.safeParse(action).success) {
    throw new WireError(
      `invalid audit action ${quote(action)}: must look like 'job.create' (lowercase words joined by '.')`,
      {
        value: action,
      },
    );
  }
  return `audit.${action}`;
}

/** `heartbeat.<pc_id>` (core NATS, not stored). */
export function heartbeatSubject(pcId: string): string {
  assertSubjectToken('pc id', pcId);
  return `heartbeat.${pcId}`;
}

/**
 * `ctl.<pc_id>.<verb>`, `ctl.group.<group>.<verb>` or `ctl.all.<verb>` (core NATS). A pc may
 * not be called `all` or `group`, which would make its subject ambiguous.
 */
export function ctlSubject(scope: CtlScope, verb: CtlVerb): string {
  if (!isCtlVerb(verb)) {
    throw new WireError(`invalid control verb ${quote(verb)}: must be one of ${CTL_VERBS.join(', ')}`, {
      value: verb,
    });
  }
  if (scope.kind === 'pc') {
    assertSubjectToken('pc id', scope.pcId);
    if (scope.pcId === 'all' || scope.pcId === 'group') {
      throw new WireError(
        `invalid pc id ${quote(scope.pcId)}: 'all' and 'group' are reserved in control subjects`,
        {
          value: scope.pcId,
        },
      );
    }
    return `ctl.${scope.pcId}.${verb}`;
  }
  return `ctl.${scopeTokens(scope)}.${verb}`;
}

/** `out.<pc_id>.<request_id>`: live output chunks of a running script (core NATS). */
export function outSubject(pcId: string, requestId: string): string {
  assertSubjectToken('pc id', pcId);
  assertSubjectToken('request id', requestId);
  return `out.${pcId}.${requestId}`;
}

function isCtlVerb(verb: unknown): verb is CtlVerb {
  return (CTL_VERBS as readonly unknown[]).includes(verb);
}

/** `all`, `group.<group>` or `pc.<pc_id>`, validated. */
function scopeTokens(target: ExecTarget): string {
  switch (target.kind) {
    case 'all':
      return 'all';
    case 'group':
      assertSubjectToken('group', target.group);
      return `group.${target.group}`;
    case 'pc':
      assertSubjectToken('pc id', target.pcId);
      return `pc.${target.pcId}`;
    default:
      return invalidTarget(target);
  }
}

function invalidTarget(target: never): never {
  throw new WireError(`invalid target ${quote(target)}: kind must be 'all', 'group' or 'pc'`, {
    value: target,
  });
}

function assertRunEventKind(kind: unknown): asserts kind is RunEventKind {
  if (!RunEventKind.safeParse(kind).success) {
    throw new WireError(
      `invalid run event kind ${quote(kind)}: must be one of ${RunEventKind.options.join(', ')}`,
      {
        value: kind,
      },
    );
  }
}

/** What {@link parseSubject} finds in a subject. */
export type ParsedSubject =
  | { kind: 'exec'; target: ExecTarget }
  | { kind: 'result'; pcId: string; requestId: string }
  | { kind: 'event'; pcId: string; eventKind: RunEventKind }
  | { kind: 'obs'; pcId: string }
  | { kind: 'inventory'; pcId: string }
  | { kind: 'audit'; action: string }
  | { kind: 'heartbeat'; pcId: string }
  | { kind: 'ctl'; scope: CtlScope; verb: CtlVerb }
  | { kind: 'out'; pcId: string; requestId: string };

const KNOWN_SUBJECTS =
  'exec.all, exec.group.<group>, exec.pc.<pc_id>, results.<pc_id>.<request_id>, events.<pc_id>.<kind>, ' +
  'obs.<pc_id>, inventory.<pc_id>, audit.<action>, heartbeat.<pc_id>, ctl.<pc_id>.<verb>, ' +
  'ctl.group.<group>.<verb>, ctl.all.<verb>, out.<pc_id>.<request_id>';

/**
 * Parses a concrete subject (no wildcards) built by one of the builders above. Throws
 * {@link WireError} naming the subject when it is not one of them or a token is invalid.
 */
export function parseSubject(subject: string): ParsedSubject {
  const parsed = matchSubject(subject);
  if (parsed === undefined) {
    throw new WireError(`unrecognised subject ${quote(subject)}: expected one of ${KNOWN_SUBJECTS}`, {
      value: subject,
    });
  }
  return parsed;
}

function matchSubject(subject: string): ParsedSubject | undefined {
  if (typeof subject !== 'string') return undefined;
  const tokens = subject.split('.');
  if (!tokens.every(isSubjectToken)) return undefined;
  const [head = '', a, b, c, ...rest] = tokens;
  if (head === 'audit') {
    const action = tokens.slice(1).join('.');
    return AuditAction.safeParse(action).success ? { kind: 'audit', action } : undefined;
  }
  if (rest.length > 0 || a === undefined) return undefined;
  switch (head) {
    case 'exec': {
      const target = matchScope(a, b, c);
      return target === undefined ? undefined : { kind: 'exec', target };
    }
    case 'ctl': {
      // ctl.all.<verb> | ctl.<pc_id>.<verb> | ctl.group.<group>.<verb>: the verb is the last token.
      const verb = c ?? b;
      if (verb === undefined || !isCtlVerb(verb)) return undefined;
      if (c !== undefined && b !== undefined) {
        return a === 'group' ? { kind: 'ctl', scope: { kind: 'group', group: b }, verb } : undefined;
      }
      if (a === 'all') return { kind: 'ctl', scope: { kind: 'all' }, verb };
      return a === 'group' ? undefined : { kind: 'ctl', scope: { kind: 'pc', pcId: a }, verb };
    }
    case 'results':
      return b !== undefined && c === undefined ? { kind: 'result', pcId: a, requestId: b } : undefined;
    case 'out':
      return b !== undefined && c === undefined ? { kind: 'out', pcId: a, requestId: b } : undefined;
    case 'events': {
      const eventKind = RunEventKind.safeParse(b);
      return eventKind.success && c === undefined
        ? { kind: 'event', pcId: a, eventKind: eventKind.data }
        : undefined;
    }
    case 'obs':
      return b === undefined ? { kind: 'obs', pcId: a } : undefined;
    case 'inventory':
      return b === undefined ? { kind: 'inventory', pcId: a } : undefined;
    case 'heartbeat':
      return b === undefined ? { kind: 'heartbeat', pcId: a } : undefined;
    default:
      return undefined;
  }
}

/** `all` | `group <g>` | `pc <id>` from the tokens after the prefix. */
function matchScope(a: string, b: string | undefined, c: string | undefined): ExecTarget | undefined {
  if (c !== undefined) return undefined;
  if (a === 'all') return b === undefined ? { kind: 'all' } : undefined;
  if (b === undefined) return undefined;
  if (a === 'group') return { kind: 'group', group: b };
  if (a === 'pc') return { kind: 'pc', pcId: b };
  return undefined;
}
