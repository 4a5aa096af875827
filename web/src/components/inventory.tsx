// An endpoint's inventory: the latest snapshot of each source (the agent's built-in one, each
// inventory job's) as field/value rows, and the change history between snapshots of one source,
// newest first (what `baton inventory <pc> [--history]` prints).
import { useMemo, useState } from 'preact/hooks';
import { api, seg } from '../api.js';
import { useApi } from '../hooks.js';
import { throttle, useLive } from '../live.js';
import { fmtTime } from '../format.js';
import type { InventoryChange, InventorySnapshot, InventoryView } from '../types.js';
import { Empty, ErrorBox, Loading } from './ui.js';

const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
const sourceOf = (s: { source: string; jobId: string | null }) =>
  s.source === 'job' ? `job ${s.jobId ?? '?'}` : s.source;

/** Leaf values by dotted path, as the projector compares them (arrays and empty objects are leaves). */
function flatten(data: Record<string, unknown>, prefix = '', out: [string, unknown][] = []) {
  for (const [k, v] of Object.entries(data)) {
    const path = prefix === '' ? k : `${prefix}.${k}`;
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0)
      flatten(v as Record<string, unknown>, path, out);
    else out.push([path, v]);
  }
  return out;
}

export function Inventory({ pcId }: { pcId: string }) {
  const inv = useApi((s) => api.get<InventoryView>(`/api/inventory/${seg(pcId)}`, {}, s), [pcId]);
  const reload = useMemo(() => throttle(() => inv.reload(), 2000), [inv.reload]);
  // New snapshots come with a run's result or the agent's start.
  useLive(['result', 'agent'], (_t, data) => {
    if ((data as { pcId?: string } | null)?.pcId === pcId) reload();
  });
  const [source, setSource] = useState<string | null>(null);
  if (!inv.data) return inv.error ? <ErrorBox error={inv.error} /> : <Loading />;
  const { latest, history } = inv.data;
  if (latest.length === 0) return <Empty>No inventory reported yet.</Empty>;
  const current = latest.find((s) => sourceOf(s) === source) ?? latest[0]!;
  const changes = history.filter((h) => !h.initial && h.changes.length > 0).reverse();
  return (
    <div class="inventory">
      <div class="toolbar">
        <div class="seg-buttons" role="group" aria-label="inventory source">
          {latest.map((s) => (
            <button
              key={s.id}
              type="button"
              aria-pressed={s === current}
              onClick={() => setSource(sourceOf(s))}
            >
              {sourceOf(s)}
            </button>
          ))}
        </div>
        <span class="muted">as of {fmtTime(current.at)}</span>
      </div>
      <Snapshot snap={current} />
      <h3>Changes</h3>
      {changes.length === 0 ? (
        <Empty>No changes between snapshots yet.</Empty>
      ) : (
        <table class="data compact" aria-label="inventory changes">
          <thead>
            <tr>
              <th>at</th>
              <th>source</th>
              <th>change</th>
              <th>field</th>
              <th>from</th>
              <th>to</th>
            </tr>
          </thead>
          <tbody>
            {changes.flatMap((h) =>
              h.changes.map((c: InventoryChange) => (
                <tr key={`${h.id}/${c.field}`} data-change={c.change} data-field={c.field}>
                  <td>{fmtTime(h.at)}</td>
                  <td>{sourceOf(h)}</td>
                  <td>
                    <span class={`kind change-${c.change}`}>{c.change}</span>
                  </td>
                  <td class="mono">{c.field}</td>
                  <td class="mono">{c.change === 'added' ? '—' : show(c.from)}</td>
                  <td class="mono">{c.change === 'removed' ? '—' : show(c.to)}</td>
                </tr>
              )),
            )}
          </tbody>
        </table>
      )}
    </div>
  );
}

function Snapshot({ snap }: { snap: InventorySnapshot }) {
  const rows = flatten(snap.data);
  return (
    <table class="data compact" aria-label="inventory">
      <thead>
        <tr>
          <th>field</th>
          <th>value</th>
        </tr>
      </thead>
      <tbody>
        {rows.map(([field, value]) => (
          <tr key={field} data-field={field}>
            <td class="mono">{field}</td>
            <td class="mono">{show(value)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
