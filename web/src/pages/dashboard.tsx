import { useMemo } from 'preact/hooks';
import { api } from '../api.js';
import { useApi } from '../hooks.js';
import { useLive, throttle } from '../live.js';
import { href } from '../router.js';
import { fmtAgo, fmtTime, shortId } from '../format.js';
import { countsOf, RUN_STATES, type Dashboard, type Execution } from '../types.js';
import { Badge, Card, CountsBar, Empty, ErrorBox, Loading, PageHeader } from '../components/ui.js';

export function DashboardPage() {
  const d = useApi((s) => api.get<Dashboard>('/api/dashboard', {}, s), []);
  const refresh = useMemo(() => throttle(d.reload, 3000), [d.reload]);
  useLive(['run', 'result', 'agent'], refresh);

  if (!d.data) return d.error ? <ErrorBox error={d.error} /> : <Loading />;
  const { agents, runs24h, upcomingFires, recentFailures } = d.data;
  const total = agents.online + agents.offline;
  const runTotal = Object.entries(runs24h).reduce(
    (a, [k, b]) => a + (k !== 'total' && typeof b === 'number' ? b : 0),
    0,
  );
  // `total` is the sum of the others, not a state.
  const states = [
    ...RUN_STATES.filter((s) => s === 'ok' || s === 'failed' || (runs24h[s] ?? 0) > 0),
    ...Object.keys(runs24h).filter((k) => !(RUN_STATES as readonly string[]).includes(k) && k !== 'total'),
  ];
  const max = Math.max(1, ...states.map((s) => runs24h[s] ?? 0));

  return (
    <>
      <PageHeader title="Dashboard" sub="The fleet at a glance" />
      <ErrorBox error={d.error} />
      <div class="grid-3">
        <Card title="Agents">
          <div class="stat-row">
            <a class="stat" href={href('agents', { status: 'online' })}>
              <span class="num ok-text" data-testid="agents-online">
                {agents.online.toLocaleString()}
              </span>
              <span class="label">online</span>
            </a>
            <a class="stat" href={href('agents', { status: 'offline' })}>
              <span class={`num ${agents.offline > 0 ? 'warn-text' : ''}`} data-testid="agents-offline">
                {agents.offline.toLocaleString()}
              </span>
              <span class="label">offline</span>
            </a>
          </div>
          <div class="meter" role="img" aria-label={`${agents.online} of ${total} online`}>
            <span style={{ width: `${total ? (agents.online / total) * 100 : 0}%` }} />
          </div>
        </Card>
        <Card title="Runs, last 24 h" actions={<a href={href('runs')}>Activity →</a>}>
          {runTotal === 0 ? (
            <Empty>No runs in the last 24 hours.</Empty>
          ) : (
            <ul class="hbars">
              {states.map((s) => (
                <li key={s}>
                  <span class="label">{s}</span>
                  <span class="track">
                    <span class={`fill st-${s}`} style={{ width: `${((runs24h[s] ?? 0) / max) * 100}%` }} />
                  </span>
                  <span class="num">{(runs24h[s] ?? 0).toLocaleString()}</span>
                </li>
              ))}
            </ul>
          )}
        </Card>
        <Card title="Upcoming fires" actions={<a href={href('schedules')}>Schedules →</a>}>
          {upcomingFires.length === 0 ? (
            <Empty>No enabled schedules.</Empty>
          ) : (
            <ul class="list">
              {upcomingFires.slice(0, 8).map((f) => {
                const at = f.utc ?? f.at ?? '';
                return (
                  <li key={`${f.scheduleId}-${at}`}>
                    <a href={href('schedules', f.scheduleId)}>{f.scheduleId}</a>
                    <span class="muted"> → {f.jobId}</span>
                    <span class="right nowrap" title={f.local ? `${f.local} (schedule's zone)` : at}>
                      {fmtTime(at)} <span class="muted">({fmtAgo(at)})</span>
                    </span>
                  </li>
                );
              })}
            </ul>
          )}
        </Card>
      </div>
      <Card title="Recent failures">
        {recentFailures.length === 0 ? (
          <Empty>Nothing failed recently.</Empty>
        ) : (
          <table class="data">
            <thead>
              <tr>
                <th>when</th>
                <th>job</th>
                <th>endpoint</th>
                <th>status</th>
                <th class="wide">runs</th>
                <th>execution</th>
              </tr>
            </thead>
            <tbody>
              {recentFailures.map((f, i) => (
                <tr key={f.resultId ?? f.execId ?? i}>
                  <td class="nowrap">{fmtTime(f.finishedAt ?? f.startedAt ?? f.at)}</td>
                  <td>{f.jobId ? <a href={href('jobs', f.jobId)}>{f.jobId}</a> : '—'}</td>
                  <td>{f.pcId ? <a href={href('agents', f.pcId)}>{f.pcId}</a> : '—'}</td>
                  <td>
                    {f.resultId ? (
                      <a href={href('results', f.resultId)}>
                        <Badge status={f.status} />
                      </a>
                    ) : (
                      <Badge status={f.status} />
                    )}
                  </td>
                  <td>
                    {f.counts ? <CountsBar counts={countsOf(f as Execution)} /> : `exit ${f.exitCode ?? '—'}`}
                  </td>
                  <td>
                    {f.execId ? (
                      <a class="mono" href={href('runs', f.execId)}>
                        {shortId(f.execId)}
                      </a>
                    ) : (
                      '—'
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
    </>
  );
}
