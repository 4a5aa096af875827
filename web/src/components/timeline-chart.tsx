// An endpoint's timeline as a picture: lanes on a time axis. Presence is a band (online/offline
// intervals from agent_online/agent_offline), runs are bars from start to finish colored by
// status, every other kind (boot, logon, job-emitted events) gets its own lane of markers.
import { useMemo } from 'preact/hooks';
import type { TimelineEvent } from '../types.js';
import { fmtTime } from '../format.js';
import { href } from '../router.js';

const W = 1000;
const LEFT = 110;
const RIGHT = 12;
const LANE_H = 28;
const TOP = 8;
const AXIS_H = 26;

type Bar = { from: number; to: number; cls: string; title: string; link?: string };
type Lane = { name: string; bars: Bar[]; dots: { at: number; cls: string; title: string; link?: string }[] };

const detailsOf = (e: TimelineEvent) => e.payload ?? e.details ?? {};
const str = (v: unknown) =>
  typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v);

export function buildLanes(events: TimelineEvent[], from: number, to: number): Lane[] {
  const sorted = [...events].sort((a, b) => a.at.localeCompare(b.at));
  const presence: Lane = { name: 'presence', bars: [], dots: [] };
  const runs: Lane = { name: 'runs', bars: [], dots: [] };
  const others = new Map<string, Lane>();

  // Presence: each transition opens an interval that lasts until the next one (or the period end).
  let open: { at: number; online: boolean } | null = null;
  const closePresence = (at: number) => {
    if (!open) return;
    presence.bars.push({
      from: open.at,
      to: at,
      cls: open.online ? 'pr-online' : 'pr-offline',
      title: `${open.online ? 'online' : 'offline'} from ${fmtTime(new Date(open.at).toISOString())}`,
    });
  };

  const started = new Map<string, number>();
  for (const e of sorted) {
    const at = new Date(e.at).getTime();
    const d = detailsOf(e);
    const runKey = str(d['requestId']) || str(d['execId']) || e.id;
    switch (e.kind) {
      case 'agent_online':
      case 'agent_offline': {
        const online = e.kind === 'agent_online';
        if (open && open.online === online) break;
        closePresence(at);
        open = { at, online };
        break;
      }
      case 'run_started':
        started.set(str(d['execId']) || runKey, at);
        break;
      case 'run_finished': {
        const dur = typeof d['durationMs'] === 'number' ? d['durationMs'] : 0;
        const key = str(d['execId']) || runKey;
        const start = started.get(key) ?? at - dur;
        started.delete(key);
        const status = str(d['status']) || 'ok';
        const link = typeof d['resultId'] === 'string' ? href('results', d['resultId']) : undefined;
        runs.bars.push({
          from: start,
          to: Math.max(at, start),
          cls: `st-${status}`,
          title: `${str(d['jobId'])} ${status}${d['exitCode'] !== undefined && d['exitCode'] !== null ? ` (exit ${str(d['exitCode'])})` : ''} · ${fmtTime(e.at)}`,
          ...(link ? { link } : {}),
        });
        break;
      }
      case 'run_accepted':
      case 'run_skipped': {
        const link = typeof d['execId'] === 'string' ? href('runs', d['execId']) : undefined;
        runs.dots.push({
          at,
          cls: e.kind === 'run_skipped' ? 'st-skipped' : 'st-delivered',
          title: `${e.kind.replace('run_', '')} ${str(d['jobId'])}${d['reason'] ? ` (${str(d['reason'])})` : ''} · ${fmtTime(e.at)}`,
          ...(link ? { link } : {}),
        });
        break;
      }
      default: {
        let lane = others.get(e.kind);
        if (!lane) others.set(e.kind, (lane = { name: e.kind, bars: [], dots: [] }));
        const summary = Object.entries(d)
          .slice(0, 4)
          .map(([k, v]) => `${k}=${str(v)}`)
          .join(' ');
        lane.dots.push({
          at,
          cls: 'ev',
          title: `${e.kind} · ${fmtTime(e.at)}${summary ? `\n${summary}` : ''}`,
        });
      }
    }
  }
  closePresence(to);
  // Runs still going at the end of the period.
  for (const [key, at] of started)
    runs.bars.push({ from: at, to, cls: 'st-running', title: `running ${key}` });
  const lanes = [presence, runs, ...[...others.values()].sort((a, b) => a.name.localeCompare(b.name))];
  return lanes.filter((l) => l.bars.length + l.dots.length > 0 || l.name === 'presence' || l.name === 'runs');
}

function ticks(from: number, to: number): { at: number; label: string }[] {
  const span = to - from;
  const steps = [
    60e3,
    5 * 60e3,
    15 * 60e3,
    30 * 60e3,
    3600e3,
    3 * 3600e3,
    6 * 3600e3,
    12 * 3600e3,
    86400e3,
    2 * 86400e3,
    7 * 86400e3,
  ];
  const step = steps.find((s) => span / s <= 8) ?? 7 * 86400e3;
  const out: { at: number; label: string }[] = [];
  const tz = new Date(from).getTimezoneOffset() * 60e3;
  for (let t = Math.ceil((from - tz) / step) * step + tz; t <= to; t += step) {
    const d = new Date(t);
    const label =
      step >= 86400e3
        ? d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' })
        : d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
    out.push({ at: t, label });
  }
  return out;
}

export function TimelineChart({ events, from, to }: { events: TimelineEvent[]; from: number; to: number }) {
  const lanes = useMemo(() => buildLanes(events, from, to), [events, from, to]);
  const x = (t: number) =>
    LEFT + ((Math.min(Math.max(t, from), to) - from) / Math.max(1, to - from)) * (W - LEFT - RIGHT);
  const h = TOP + lanes.length * LANE_H + AXIS_H;
  const axisY = TOP + lanes.length * LANE_H;
  const wrap = (link: string | undefined, node: preact.JSX.Element) =>
    link ? <a href={link}>{node}</a> : node;
  return (
    <svg
      class="timeline"
      viewBox={`0 0 ${W} ${h}`}
      role="img"
      aria-label={`timeline with ${events.length} events`}
    >
      {ticks(from, to).map((t) => (
        <g key={t.at}>
          <line class="grid" x1={x(t.at)} x2={x(t.at)} y1={TOP} y2={axisY} />
          <text class="tick" x={x(t.at)} y={axisY + 16} text-anchor="middle">
            {t.label}
          </text>
        </g>
      ))}
      <line class="axis" x1={LEFT} x2={W - RIGHT} y1={axisY} y2={axisY} />
      {lanes.map((lane, i) => {
        const y = TOP + i * LANE_H;
        return (
          <g key={lane.name} class="lane" data-lane={lane.name}>
            <rect class="lane-bg" x={LEFT} y={y + 2} width={W - LEFT - RIGHT} height={LANE_H - 4} />
            <text class="lane-label" x={LEFT - 8} y={y + LANE_H / 2 + 4} text-anchor="end">
              {lane.name.length > 16 ? `${lane.name.slice(0, 15)}…` : lane.name}
            </text>
            {/* Markers first: a run's bar is drawn over its accepted marker. */}
            {lane.dots.map((d, j) =>
              wrap(
                d.link,
                <circle key={`d${j}`} class={`dot ${d.cls}`} cx={x(d.at)} cy={y + LANE_H / 2} r={4.5}>
                  <title>{d.title}</title>
                </circle>,
              ),
            )}
            {lane.bars.map((b, j) =>
              wrap(
                b.link,
                <rect
                  key={j}
                  class={`bar ${b.cls}`}
                  x={x(b.from)}
                  y={y + 6}
                  width={Math.max(3, x(b.to) - x(b.from))}
                  height={LANE_H - 12}
                  rx={2}
                >
                  <title>{b.title}</title>
                </rect>,
              ),
            )}
          </g>
        );
      })}
    </svg>
  );
}
