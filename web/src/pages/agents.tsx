// The roster: server-side filtered and paged (100 rows a page), so 10,000 agents cost one small
// request per page; presence updates arrive live and refresh the visible page (throttled).
import { useMemo, useState } from 'preact/hooks';
import { api } from '../api.js';
import { useApi } from '../hooks.js';
import { useLive, throttle } from '../live.js';
import { href, navigate, type Route } from '../router.js';
import { fmtAgo } from '../format.js';
import { itemsOf, type Agent } from '../types.js';
import { Empty, ErrorBox, PageHeader, Pager, Presence } from '../components/ui.js';

const LIMIT = 100;

export function AgentsPage({ route }: { route: Route }) {
  const status = route.query.get('status') ?? '';
  const group = route.query.get('group') ?? '';
  const q = route.query.get('q') ?? '';
  const offset = Number(route.query.get('offset') ?? 0) || 0;
  const [draft, setDraft] = useState(q);
  const list = useApi(
    (s) =>
      api.get<{ items: Agent[]; total: number }>(
        '/api/agents',
        { status, group, q, offset, limit: LIMIT },
        s,
      ),
    [status, group, q, offset],
  );
  const refresh = useMemo(() => throttle(list.reload, 5000), [list.reload]);
  useLive(['agent'], refresh);

  const go = (over: Record<string, string | number>) =>
    navigate(href('agents', { status, group, q, offset: 0, ...over }));
  const items = itemsOf<Agent>(list.data);
  const total = list.data?.total ?? items.length;

  return (
    <>
      <PageHeader title="Agents" sub={`${total.toLocaleString()} endpoint${total === 1 ? '' : 's'}`} />
      <form
        class="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          go({ q: draft.trim() });
        }}
      >
        <input
          type="search"
          aria-label="search agents"
          placeholder="pc id, host name, os…  (/)"
          value={draft}
          onInput={(e) => setDraft((e.target as HTMLInputElement).value)}
        />
        <select
          aria-label="presence"
          value={status}
          onChange={(e) => go({ status: (e.target as HTMLSelectElement).value })}
        >
          <option value="">online and offline</option>
          <option value="online">online</option>
          <option value="offline">offline</option>
        </select>
        <input
          aria-label="group"
          placeholder="group"
          value={group}
          onChange={(e) => go({ group: (e.target as HTMLInputElement).value.trim() })}
        />
        <button type="submit">Search</button>
      </form>
      <ErrorBox error={list.error} />
      {items.length === 0 && !list.loading ? (
        <Empty>No agents match.</Empty>
      ) : (
        <div class="table-wrap">
          <table class="data" aria-label="agents">
            <thead>
              <tr>
                <th>pc id</th>
                <th>presence</th>
                <th>host</th>
                <th>os</th>
                <th>agent</th>
                <th>groups</th>
                <th>last seen</th>
              </tr>
            </thead>
            <tbody>
              {items.map((a) => (
                <tr key={a.pcId} data-pc={a.pcId}>
                  <td>
                    <a href={href('agents', a.pcId)}>{a.pcId}</a>
                  </td>
                  <td>
                    <Presence online={a.online} />
                  </td>
                  <td>{a.hostname ?? '—'}</td>
                  <td class="muted">{[a.os, a.arch].filter(Boolean).join('/') || '—'}</td>
                  <td class="mono">{a.agentVersion ?? '—'}</td>
                  <td>
                    {(a.groups ?? []).map((g) => (
                      <a key={g} class="tag" href={href('agents', { group: g })}>
                        {g}
                      </a>
                    ))}
                  </td>
                  <td class="nowrap muted" title={a.lastSeenAt}>
                    {fmtAgo(a.lastSeenAt)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {total > LIMIT && (
        <Pager offset={offset} limit={LIMIT} total={total} onChange={(o) => go({ offset: o })} />
      )}
    </>
  );
}
