// One endpoint: its state, groups (editable by operators), effective config with the layer each
// value comes from, its inventory with the change history, and its timeline.
import { useState } from 'preact/hooks';
import type { ApiError } from '../api.js';
import { api, seg } from '../api.js';
import { useApi } from '../hooks.js';
import { useLive } from '../live.js';
import { href } from '../router.js';
import { fmtAgo, fmtTime } from '../format.js';
import type { Agent, AgentDetail } from '../types.js';
import { useCan } from '../user.js';
import { Card, Empty, ErrorBox, KeyValues, Loading, PageHeader, Presence } from '../components/ui.js';
import { EndpointTimeline } from '../components/endpoint-timeline.js';
import { Inventory } from '../components/inventory.js';

export function AgentPage({ pcId }: { pcId: string }) {
  const d = useApi((s) => api.get<AgentDetail>(`/api/agents/${seg(pcId)}`, {}, s), [pcId]);
  useLive(['agent'], (_t, data) => {
    if ((data as { pcId?: string } | null)?.pcId === pcId) d.reload();
  });
  if (!d.data) return d.error ? <ErrorBox error={d.error} /> : <Loading />;
  const row = d.data.agent ?? d.data.state;
  const a: Agent = { ...row, pcId, online: row?.online ?? d.data.online ?? false };
  const g = d.data.groups;
  const groups = (Array.isArray(g) ? g : g?.groups) ?? row?.groups ?? [];

  return (
    <>
      <PageHeader
        title={
          <>
            <span class="muted">agent</span> {pcId}
          </>
        }
        sub={
          <>
            <Presence online={a.online} /> · last seen {fmtAgo(a.lastSeenAt)}
          </>
        }
        actions={<a href={href('timeline', pcId)}>Full timeline →</a>}
      />
      <div class="two-col">
        <Card title="State">
          <KeyValues
            rows={[
              ['host name', a.hostname ?? '—'],
              ['os / arch', [a.os, a.arch].filter(Boolean).join(' / ') || '—'],
              ['agent version', <span class="mono">{a.agentVersion ?? '—'}</span>],
              ['started', fmtTime(a.startedAt)],
              ['last seen', fmtTime(a.lastSeenAt)],
              ['running now', Array.isArray(a.running) ? a.running.length : 0],
            ]}
          />
        </Card>
        <Card title="Groups">
          <Groups pcId={pcId} groups={groups} onSaved={d.reload} />
        </Card>
      </div>
      <Card title="Effective config">
        <ConfigTable config={d.data.config} />
      </Card>
      <Card title="Inventory">
        <Inventory pcId={pcId} />
      </Card>
      <Card title="Timeline">
        <EndpointTimeline pcId={pcId} />
      </Card>
    </>
  );
}

function Groups({ pcId, groups, onSaved }: { pcId: string; groups: string[]; onSaved: () => void }) {
  const canEdit = useCan('operator');
  const [draft, setDraft] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | undefined>();
  const save = async () => {
    if (draft === null) return;
    const next = draft
      .split(/[\s,]+/)
      .map((g) => g.trim())
      .filter(Boolean);
    try {
      await api.put(`/api/groups/${seg(pcId)}`, { groups: next });
      setDraft(null);
      setError(undefined);
      onSaved();
    } catch (err) {
      setError(err as ApiError);
    }
  };
  if (draft !== null)
    return (
      <form
        class="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <input
          aria-label="groups"
          value={draft}
          autoFocus
          onInput={(e) => setDraft((e.target as HTMLInputElement).value)}
          placeholder="lab-a, windows"
        />
        <button type="submit" class="primary">
          Save
        </button>
        <button type="button" onClick={() => setDraft(null)}>
          Cancel
        </button>
        <ErrorBox error={error} />
      </form>
    );
  return (
    <div>
      {groups.length === 0 ? (
        <span class="muted">no groups </span>
      ) : (
        groups.map((g) => (
          <a key={g} class="tag" href={href('agents', { group: g })}>
            {g}
          </a>
        ))
      )}
      {canEdit && (
        <button type="button" class="link" onClick={() => setDraft(groups.join(', '))}>
          edit
        </button>
      )}
    </div>
  );
}

function ConfigTable({ config }: { config: AgentDetail['config'] }) {
  if (!config || Object.keys(config.values ?? {}).length === 0) return <Empty>No config values.</Empty>;
  const keys = Object.keys(config.values).sort();
  return (
    <table class="data" aria-label="effective config">
      <thead>
        <tr>
          <th>key</th>
          <th>value</th>
          <th>from</th>
        </tr>
      </thead>
      <tbody>
        {keys.map((k) => {
          const src = config.sources?.[k] ?? 'default';
          return (
            <tr key={k}>
              <td class="mono">{k}</td>
              <td class="mono">{JSON.stringify(config.values[k])}</td>
              <td>
                <span class={`layer layer-${src.split('.')[0]}`}>{src}</span>
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
