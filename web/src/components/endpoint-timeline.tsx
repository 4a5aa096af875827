// A period picker, kind filters, the timeline picture and the event list for one endpoint.
import { useMemo, useState } from 'preact/hooks';
import { api, seg } from '../api.js';
import { useApi } from '../hooks.js';
import { useLive, throttle } from '../live.js';
import { fmtTime, toLocalInput } from '../format.js';
import { itemsOf, type TimelineEvent } from '../types.js';
import { TimelineChart } from './timeline-chart.js';
import { Empty, ErrorBox } from './ui.js';

const PERIODS = [
  ['15m', 15 * 60e3],
  ['1h', 3600e3],
  ['6h', 6 * 3600e3],
  ['24h', 86400e3],
  ['7d', 7 * 86400e3],
] as const;

export function EndpointTimeline({ pcId }: { pcId: string }) {
  const [preset, setPreset] = useState<string>('24h');
  const [custom, setCustom] = useState<{ from: string; to: string } | null>(null);
  const [hidden, setHidden] = useState<Set<string>>(new Set());
  const [now, setNow] = useState(() => Date.now());

  const { from, to } = useMemo(() => {
    if (custom) return { from: new Date(custom.from).getTime(), to: new Date(custom.to).getTime() };
    const span = PERIODS.find(([k]) => k === preset)?.[1] ?? 86400e3;
    return { from: now - span, to: now };
  }, [preset, custom, now]);

  const tl = useApi(
    (signal) =>
      api.get<TimelineEvent[] | { items: TimelineEvent[] }>(
        `/api/events/${seg(pcId)}`,
        { since: new Date(from).toISOString(), until: new Date(to).toISOString() },
        signal,
      ),
    [pcId, from, to],
  );
  const refresh = useMemo(() => throttle(() => setNow(Date.now()), 2000), []);
  useLive(['event', 'result', 'agent'], (_t, data) => {
    if (custom) return;
    const pc = (data as { pcId?: string } | null)?.pcId;
    if (pc === undefined || pc === pcId) refresh();
  });

  const all = itemsOf<TimelineEvent>(tl.data, 'events');
  const kinds = [...new Set(all.map((e) => e.kind))].sort();
  const shown = all.filter((e) => !hidden.has(e.kind));
  const toggle = (k: string) => {
    const next = new Set(hidden);
    if (next.has(k)) next.delete(k);
    else next.add(k);
    setHidden(next);
  };

  return (
    <div class="endpoint-timeline">
      <div class="toolbar">
        <div class="seg-buttons" role="group" aria-label="period">
          {PERIODS.map(([k]) => (
            <button
              key={k}
              type="button"
              aria-pressed={!custom && preset === k}
              onClick={() => {
                setCustom(null);
                setPreset(k);
                setNow(Date.now());
              }}
            >
              {k}
            </button>
          ))}
        </div>
        <label>
          from{' '}
          <input
            type="datetime-local"
            value={toLocalInput(new Date(from))}
            onChange={(e) =>
              setCustom({ from: (e.target as HTMLInputElement).value, to: toLocalInput(new Date(to)) })
            }
          />
        </label>
        <label>
          to{' '}
          <input
            type="datetime-local"
            value={toLocalInput(new Date(to))}
            onChange={(e) =>
              setCustom({ from: toLocalInput(new Date(from)), to: (e.target as HTMLInputElement).value })
            }
          />
        </label>
      </div>
      {kinds.length > 0 && (
        <fieldset class="kind-filter">
          <legend>kinds</legend>
          {kinds.map((k) => (
            <label key={k} class="chip">
              <input type="checkbox" checked={!hidden.has(k)} onChange={() => toggle(k)} /> {k}
              <span class="muted"> {all.filter((e) => e.kind === k).length}</span>
            </label>
          ))}
        </fieldset>
      )}
      <ErrorBox error={tl.error} />
      <TimelineChart events={shown} from={from} to={to} />
      {shown.length === 0 ? (
        <Empty>{tl.loading ? 'Loading…' : 'No events in this period.'}</Empty>
      ) : (
        <div class="table-wrap scroll-y">
          <table class="data">
            <thead>
              <tr>
                <th>time</th>
                <th>kind</th>
                <th>source</th>
                <th>details</th>
              </tr>
            </thead>
            <tbody>
              {[...shown].reverse().map((e) => (
                <tr key={e.id}>
                  <td class="nowrap">{fmtTime(e.at)}</td>
                  <td>
                    <span class={`kind k-${e.kind}`}>{e.kind}</span>
                  </td>
                  <td class="muted">{e.source}</td>
                  <td class="details">
                    <EventDetails e={e} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

function EventDetails({ e }: { e: TimelineEvent }) {
  const d = e.payload ?? e.details ?? {};
  const entries = Object.entries(d).filter(([, v]) => v !== null && v !== undefined && v !== '');
  return (
    <span>
      {entries.map(([k, v]) => {
        const text = typeof v === 'string' ? v : JSON.stringify(v);
        const link =
          k === 'resultId'
            ? `#/results/${encodeURIComponent(text)}`
            : k === 'execId'
              ? `#/runs/${encodeURIComponent(text)}`
              : null;
        return (
          <span key={k} class="kvpair">
            <span class="muted">{k}</span> {link ? <a href={link}>{text}</a> : text}
          </span>
        );
      })}
    </span>
  );
}
