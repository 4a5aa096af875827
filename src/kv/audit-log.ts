// Publishing and reading audit receipts on the AUDIT stream. Every role writes receipts through
// publishAudit, so each one is validated by the wire schema and deduplicated by its id.
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, DeliverPolicy } from '@nats-io/jetstream';
import { setTimeout as delay } from 'node:timers/promises';
import {
  auditSubject,
  encodeAuditEvent,
  newId,
  parseAuditEvent,
  type AuditActor,
  type AuditEvent,
  type AuditEventInput,
  type AuditSource,
} from '../wire/index.js';
import { STREAMS } from './names.js';

export type AuditDraft = {
  actor: AuditActor;
  action: string;
  target: { kind: string; id: string };
  revisionBefore: number | null;
  revisionAfter: number | null;
  source: AuditSource;
  summary: string;
  details?: AuditEventInput['details'];
  /** A deterministic receipt id, so replicas doing the same change publish one receipt. Default: a new id. */
  id?: string;
};

export class AuditPublishError extends Error {
  override name = 'AuditPublishError';
}

const PUBLISH_ATTEMPTS = 4;

/**
 * Publishes one receipt with `Nats-Msg-Id` = its id, retrying a failed publish (the id makes a
 * retry that did land the first time a no-op). Returns the event as published.
 */
export async function publishAudit(
  nc: NatsConnection,
  draft: AuditDraft,
  now = new Date(),
): Promise<AuditEvent> {
  const { id, ...rest } = draft;
  const event = { v: 1 as const, id: id ?? newId(now.getTime()), at: now.toISOString(), ...rest };
  const data = encodeAuditEvent(event);
  const js = jetstream(nc);
  let lastError: unknown;
  for (let attempt = 1; attempt <= PUBLISH_ATTEMPTS; attempt++) {
    try {
      await js.publish(auditSubject(draft.action), data, { msgID: event.id });
      return parseAuditEvent(data);
    } catch (err) {
      lastError = err;
      if (attempt < PUBLISH_ATTEMPTS) await delay(100 * 2 ** attempt);
    }
  }
  throw new AuditPublishError(
    `the change was written (${draft.action} ${draft.target.kind} ${draft.target.id}, revision ${draft.revisionAfter ?? 'deleted'}) ` +
      `but its audit receipt could not be published: ${(lastError as Error).message}`,
    { cause: lastError },
  );
}

export type AuditQuery = {
  /** `job.create`, `job.*` (one word after job) or `job` (every job action). Default: all. */
  action?: string;
  /** Only receipts about this target id. Default: all. */
  target?: string;
  /** Keep the newest N. Default 100. */
  limit?: number;
};

/** The subject filter for an action pattern as users write it. */
export function auditFilter(action: string | undefined): string {
  if (!action || action === '*') return 'audit.>';
  if (!action.includes('.')) return `audit.${action}.>`;
  return `audit.${action}`;
}

/**
 * Reads receipts straight from the AUDIT stream, oldest first, keeping the newest `limit`.
 * (The projector's SQLite read model answers the same question faster once it runs.)
 * Messages that fail validation are skipped and counted, never fatal.
 */
export async function readAudit(
  nc: NatsConnection,
  q: AuditQuery = {},
): Promise<{ events: AuditEvent[]; invalid: number }> {
  const limit = q.limit ?? 100;
  const filter = auditFilter(q.action);
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(STREAMS.audit, { subjects_filter: filter });
  const total = Object.values(info.state.subjects ?? {}).reduce((a, n) => a + n, 0);
  if (total === 0) return { events: [], invalid: 0 };
  const js = jetstream(nc);
  const consumer = await js.consumers.get(STREAMS.audit, {
    filter_subjects: [filter],
    deliver_policy: DeliverPolicy.All,
  });
  const events: AuditEvent[] = [];
  let invalid = 0;
  let seen = 0;
  while (seen < total) {
    const batch = await consumer.fetch({ max_messages: Math.min(1000, total - seen), expires: 5_000 });
    let got = 0;
    for await (const m of batch) {
      got++;
      seen++;
      try {
        const ev = parseAuditEvent(m.data);
        if (q.target === undefined || ev.target.id === q.target) {
          events.push(ev);
          if (events.length > limit) events.shift();
        }
      } catch {
        invalid++;
      }
      if (m.info.pending === 0) seen = total;
    }
    if (got === 0) break;
  }
  return { events, invalid };
}
