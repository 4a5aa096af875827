// SQL of the audit query: the same filters as reading the AUDIT stream (kv/audit-log.ts), answered
// from the projection, rows shaped as AuditEvents.
import type { AuditEvent } from '../wire/index.js';
import type { Db } from './db.js';

export type AuditFilter = {
  /** `job.create` (exact), `job.*` (one word after job) or `job` (every job action). */
  action?: string;
  target?: string;
  /** The newest n, printed oldest first. Default 100. */
  limit?: number;
};

/** The GLOB patterns an action filter means: [match, exclude]. */
export function actionGlobs(action: string | undefined): [string, string | null] {
  if (!action || action === '*') return ['*', null];
  if (!action.includes('.')) return [`${action}.*`, null];
  if (action.endsWith('.*')) return [action, `${action}.*`];
  return [action, null];
}

type DbAudit = Record<string, string | number | null>;

function toEvent(r: DbAudit): AuditEvent {
  const source: AuditEvent['source'] = { via: r['via'] as AuditEvent['source']['via'] };
  if (r['file'] !== null) source.file = String(r['file']);
  if (r['git_commit'] !== null) source.gitCommit = String(r['git_commit']);
  const e: AuditEvent = {
    v: 1,
    id: String(r['id']),
    at: String(r['at']),
    actor: { kind: r['actor_kind'] as AuditEvent['actor']['kind'], name: String(r['actor_name']) },
    action: String(r['action']),
    target: { kind: String(r['target_kind']), id: String(r['target_id']) },
    revisionBefore: r['revision_before'] as number | null,
    revisionAfter: r['revision_after'] as number | null,
    source,
    summary: String(r['summary']),
  };
  if (r['details'] !== null) e.details = JSON.parse(String(r['details'])) as AuditEvent['details'];
  return e;
}

export type AuditQueries = { list(f: AuditFilter): AuditEvent[] };

export function auditQueries(db: Db): AuditQueries {
  const stmt = db.prepare(`
    SELECT * FROM audit
    WHERE action GLOB @match AND (@exclude IS NULL OR action NOT GLOB @exclude)
      AND (@target IS NULL OR target_id = @target)
    ORDER BY at DESC, stream_seq DESC LIMIT @limit`);
  return {
    list(f) {
      const [match, exclude] = actionGlobs(f.action);
      const rows = stmt.all({ match, exclude, target: f.target ?? null, limit: f.limit ?? 100 }) as DbAudit[];
      return rows.reverse().map(toEvent);
    },
  };
}
