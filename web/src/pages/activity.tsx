// Executions, newest first, with live counters: every `run`/`result` event refreshes the list
// (throttled, so a 10,000-pc fire costs one request per second, not 10,000).
import { useMemo, useState } from 'preact/hooks';
import { api } from '../api.js';
import { useApi } from '../hooks.js';
import { useLive, throttle } from '../live.js';
import { href, navigate, type Route } from '../router.js';
import { fmtAgo, fmtTime, shortId } from '../format.js';
import { countsOf, itemsOf, nextCursorOf, type Execution } from '../types.js';
import { Badge, CountsBar, Empty, ErrorBox, PageHeader } from '../components/ui.js';

const LIMIT = 50;

export function triggerLabel(e: Execution): string {
  const t = e.trigger;
  if (!t) return e.scheduleId ? `schedule ${e.scheduleId}` : '';
  if (typeof t === 'string')
    return t === 'schedule' && e.scheduleId
      ? `schedule ${e.scheduleId}`
      : `${t}${e.actor ? ` by ${e.actor}` : ''}`;
  return t.kind === 'schedule'
    ? `schedule ${t.scheduleId ?? ''}`
    : `${t.kind ?? 'adhoc'}${t.actor ? ` by ${t.actor}` : ''}`;
}

export function ActivityPage({ route }: { route: Route }) {
  const job = route.query.get('job') ?? '';
  const status = route.query.get('status') ?? '';
  const [pages, setPages] = useState<string[]>([]);
  const list = useApi(
    async (signal) => {
      const first = await api.get<unknown>('/api/runs', { job, status, limit: LIMIT }, signal);
      const items = itemsOf<Execution>(first as Execution[], 'executions');
      let cursor = nextCursorOf(first);
      // Pages loaded with "more" are reloaded too, so live refreshes keep them current.
      for (let i = 0; i < pages.length && cursor; i++) {
        const next = await api.get<unknown>('/api/runs', { job, status, limit: LIMIT, cursor }, signal);
        items.push(...itemsOf<Execution>(next as Execution[], 'executions'));
        cursor = nextCursorOf(next);
      }
      return { items, cursor };
    },
    [job, status, pages.length],
  );
  const refresh = useMemo(() => throttle(list.reload, 1000), [list.reload]);
  useLive(['run', 'result'], refresh);

  const setFilter = (k: string, v: string) => {
    const q: Record<string, string> = { job, status };
    q[k] = v;
    setPages([]);
    navigate(href('runs', q));
  };
  const items = list.data?.items ?? [];

  return (
    <>
      <PageHeader title="Activity" sub="Executions: one per fire or ad-hoc run, with live counters" />
      <div class="toolbar">
        <label>
          job{' '}
          <input
            type="search"
            placeholder="job id"
            value={job}
            onChange={(e) => setFilter('job', (e.target as HTMLInputElement).value.trim())}
          />
        </label>
        <label>
          status{' '}
          <select value={status} onChange={(e) => setFilter('status', (e.target as HTMLSelectElement).value)}>
            <option value="">any</option>
            <option value="running">running</option>
            <option value="ok">ok</option>
            <option value="failed">failed</option>
          </select>
        </label>
      </div>
      <ErrorBox error={list.error} />
      {items.length === 0 && !list.loading ? (
        <Empty>No executions yet. Run a job from its page.</Empty>
      ) : (
        <div class="table-wrap">
          <table class="data" aria-label="executions">
            <thead>
              <tr>
                <th>started</th>
                <th>job</th>
                <th>trigger</th>
                <th>status</th>
                <th class="wide">progress</th>
                <th>execution</th>
              </tr>
            </thead>
            <tbody>
              {items.map((e) => (
                <tr key={e.execId} data-exec={e.execId}>
                  <td class="nowrap" title={e.startedAt ?? e.createdAt ?? ''}>
                    {fmtTime(e.startedAt ?? e.createdAt)}{' '}
                    <span class="muted small">{fmtAgo(e.startedAt ?? e.createdAt)}</span>
                  </td>
                  <td>
                    <a href={href('jobs', e.jobId)}>{e.jobId}</a>
                    {e.jobVersion && <span class="muted small"> v{e.jobVersion}</span>}
                  </td>
                  <td class="muted">{triggerLabel(e)}</td>
                  <td>
                    <Badge status={e.status ?? (e.final ? 'done' : 'running')} />
                  </td>
                  <td>
                    <CountsBar counts={countsOf(e)} expected={e.expected ?? null} />
                  </td>
                  <td>
                    <a class="mono" href={href('runs', e.execId)}>
                      {shortId(e.execId, 12)}
                    </a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {list.data?.cursor && (
        <div class="more">
          <button
            type="button"
            onClick={() => setPages([...pages, list.data?.cursor ?? ''])}
            disabled={list.loading}
          >
            Load more
          </button>
        </div>
      )}
    </>
  );
}
