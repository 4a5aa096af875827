// Receipts: who changed what, when, at which revision. Filtered by action and target, paged by
// cursor; new receipts arrive live at the top when no cursor page is open.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { useApi } from '../hooks.js';
import { useLive } from '../live.js';
import { href, navigate, type Route } from '../router.js';
import { fmtTime } from '../format.js';
import { actorName, itemsOf, nextCursorOf, targetLabel, type AuditEvent } from '../types.js';
import { Empty, ErrorBox, PageHeader } from '../components/ui.js';

const LIMIT = 100;

function targetHref(t: AuditEvent['target']): string | null {
  if (typeof t !== 'object' || !t?.id) return null;
  switch (t.kind) {
    case 'job':
      return href('jobs', t.id);
    case 'schedule':
      return href('schedules', t.id);
    case 'execution':
    case 'run':
      return href('runs', t.id);
    case 'pc':
    case 'agent':
      return href('agents', t.id);
    case undefined:
    default:
      return null;
  }
}

export function AuditPage({ route }: { route: Route }) {
  const action = route.query.get('action') ?? '';
  const target = route.query.get('target') ?? '';
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const list = useApi(
    (s) => api.get<unknown>('/api/audit', { action, target, limit: LIMIT, cursor }, s),
    [action, target, cursor],
  );
  useLive(['audit'], () => {
    if (!cursor) list.reload();
  });
  const items = itemsOf<AuditEvent>(list.data as AuditEvent[]);
  const next = nextCursorOf(list.data);
  const go = (k: string, v: string) => {
    setCursors([]);
    navigate(href('audit', { action, target, [k]: v }));
  };

  return (
    <>
      <PageHeader title="Audit" sub="Every change by people, automation and the scheduler, with revisions" />
      <div class="toolbar">
        <label>
          action{' '}
          <input
            type="search"
            placeholder="job.update, run.start…"
            value={action}
            onChange={(e) => go('action', (e.target as HTMLInputElement).value.trim())}
          />
        </label>
        <label>
          target{' '}
          <input
            placeholder="id"
            value={target}
            onChange={(e) => go('target', (e.target as HTMLInputElement).value.trim())}
          />
        </label>
      </div>
      <ErrorBox error={list.error} />
      {items.length === 0 && !list.loading ? (
        <Empty>No receipts match.</Empty>
      ) : (
        <table class="data" aria-label="receipts">
          <thead>
            <tr>
              <th>when</th>
              <th>action</th>
              <th>target</th>
              <th>actor</th>
              <th>revision</th>
              <th>summary</th>
            </tr>
          </thead>
          <tbody>
            {items.map((e) => {
              const link = targetHref(e.target);
              return (
                <tr key={e.id}>
                  <td class="nowrap" title={e.at}>
                    {fmtTime(e.at)}
                  </td>
                  <td>
                    <button type="button" class="link mono" onClick={() => go('action', e.action)}>
                      {e.action}
                    </button>
                  </td>
                  <td>{link ? <a href={link}>{targetLabel(e.target)}</a> : targetLabel(e.target)}</td>
                  <td>
                    {actorName(e.actor)}
                    {typeof e.source === 'object' && e.source?.via && (
                      <span class="muted small"> via {e.source.via}</span>
                    )}
                  </td>
                  <td class="mono small">
                    {e.revisionBefore ?? '∅'} → {e.revisionAfter ?? '∅'}
                  </td>
                  <td>{e.summary}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <div class="more">
        {cursors.length > 0 && (
          <button type="button" onClick={() => setCursors(cursors.slice(0, -1))}>
            ‹ Newer
          </button>
        )}
        {next && (
          <button type="button" onClick={() => setCursors([...cursors, next])}>
            Older ›
          </button>
        )}
      </div>
    </>
  );
}
