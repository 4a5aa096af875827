// Jobs or schedules: the catalog list with status, version and who wrote it last.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { useApi } from '../hooks.js';
import { useLive } from '../live.js';
import { href } from '../router.js';
import { fmtAgo } from '../format.js';
import { itemsOf, type CatalogItem } from '../types.js';
import { useCan } from '../user.js';
import { Badge, Empty, ErrorBox, PageHeader } from '../components/ui.js';

export function CatalogListPage({ kind }: { kind: 'jobs' | 'schedules' }) {
  const list = useApi((s) => api.get<unknown>(`/api/${kind}`, {}, s), [kind]);
  const [q, setQ] = useState('');
  const canEdit = useCan('operator');
  useLive(['audit'], (_t, data) => {
    const action = (data as { action?: string } | null)?.action ?? '';
    if (action.startsWith(kind === 'jobs' ? 'job.' : 'schedule.')) list.reload();
  });
  const all = itemsOf<CatalogItem>(list.data as CatalogItem[], kind);
  const items = q ? all.filter((i) => JSON.stringify(i).toLowerCase().includes(q.toLowerCase())) : all;
  const title = kind === 'jobs' ? 'Jobs' : 'Schedules';

  return (
    <>
      <PageHeader
        title={title}
        sub={
          kind === 'jobs'
            ? 'Job manifests: what runs, how, with which limits'
            : 'When jobs fire, on which endpoints'
        }
        actions={
          canEdit && (
            <a class="button primary" href={href(kind, '_new')}>
              New {kind === 'jobs' ? 'job' : 'schedule'}
            </a>
          )
        }
      />
      <div class="toolbar">
        <input
          type="search"
          aria-label="filter"
          placeholder={`Filter ${kind}…  (/)`}
          value={q}
          onInput={(e) => setQ((e.target as HTMLInputElement).value)}
        />
        <span class="muted">
          {items.length} of {all.length}
        </span>
      </div>
      <ErrorBox error={list.error} />
      {items.length === 0 && !list.loading ? (
        <Empty>{all.length === 0 ? `No ${kind} yet.` : 'Nothing matches the filter.'}</Empty>
      ) : (
        <table class="data" aria-label={kind}>
          <thead>
            {kind === 'jobs' ? (
              <tr>
                <th>id</th>
                <th>version</th>
                <th>status</th>
                <th>description</th>
                <th>last written</th>
              </tr>
            ) : (
              <tr>
                <th>id</th>
                <th>job</th>
                <th>when</th>
                <th>targets</th>
                <th>next fire</th>
                <th>state</th>
                <th>last written</th>
              </tr>
            )}
          </thead>
          <tbody>
            {items.map((i) => {
              const m = (i.manifest ?? i.schedule ?? i) as Record<string, unknown>;
              const w =
                i.written ??
                (i.updatedAt
                  ? { actor: { name: i.updatedBy ?? '?' }, via: i.via ?? '?', at: i.updatedAt }
                  : undefined);
              const written = w?.at ? (
                <span title={w.at}>
                  {w.actor?.name ?? '?'}{' '}
                  <span class="muted">
                    via {w.via ?? '?'} · {fmtAgo(w.at)}
                  </span>
                </span>
              ) : (
                <span class="muted">—</span>
              );
              return kind === 'jobs' ? (
                <tr key={i.id}>
                  <td>
                    <a href={href('jobs', i.id)}>{i.id}</a>
                  </td>
                  <td class="mono">{i.version ?? (m['version'] as string | undefined) ?? '—'}</td>
                  <td>
                    <Badge status={(i.status ?? 'ACTIVE').toLowerCase()} />
                  </td>
                  <td class="muted">{i.description ?? (m['description'] as string | undefined) ?? ''}</td>
                  <td>{written}</td>
                </tr>
              ) : (
                <tr key={i.id}>
                  <td>
                    <a href={href('schedules', i.id)}>{i.id}</a>
                  </td>
                  <td>
                    {(i.job ?? m['job']) ? (
                      <a href={href('jobs', String(i.job ?? m['job']))}>{String(i.job ?? m['job'])}</a>
                    ) : (
                      '—'
                    )}
                  </td>
                  <td class="mono">
                    {i.cron ?? (typeof m['cron'] === 'string' ? m['cron'] : '—')}
                    {(i.timezone ?? m['timezone']) ? (
                      <span class="muted"> {String(i.timezone ?? m['timezone'])}</span>
                    ) : null}
                  </td>
                  <td class="mono small">{(i.targets ?? []).join(', ') || '—'}</td>
                  <td class="nowrap" title={i.next ?? ''}>
                    {i.next ? fmtAgo(i.next) : <span class="muted">—</span>}
                  </td>
                  <td>
                    <Badge status={(i.enabled ?? m['enabled']) === false ? 'disabled' : 'enabled'} />
                  </td>
                  <td>{written}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </>
  );
}
