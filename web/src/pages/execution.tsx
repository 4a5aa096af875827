// One execution: its counters (live), the per-pc table (paged by the server), and the output
// groups (identical stdout grouped: "3 distinct outputs across 500 pcs").
import { useMemo, useState } from 'preact/hooks';
import type { ApiError } from '../api.js';
import { api, fetchOutputRange, seg } from '../api.js';
import { useApi, useRetryWhileMissing } from '../hooks.js';
import { useLive, throttle } from '../live.js';
import { href } from '../router.js';
import { fmtDuration, fmtTime, shortId } from '../format.js';
import { countsOf, FINAL_STATES, formatRunTarget, pcRunsOf, type ExecutionDetail } from '../types.js';
import { useCan } from '../user.js';
import { LiveOutput } from '../components/live-output.js';
import {
  Badge,
  Card,
  CountsBar,
  Empty,
  ErrorBox,
  KeyValues,
  Loading,
  PageHeader,
  Pager,
} from '../components/ui.js';
import { triggerLabel } from './activity.js';

const LIMIT = 100;

export function ExecutionPage({ execId }: { execId: string }) {
  const [offset, setOffset] = useState(0);
  const [stateFilter, setStateFilter] = useState('');
  const [killError, setKillError] = useState<ApiError | undefined>();
  /** The pc whose live output is open (one at a time). */
  const [liveFor, setLiveFor] = useState<string | null>(null);
  const canKill = useCan('operator');
  const d = useApi(
    (s) => api.get<ExecutionDetail>(`/api/runs/${seg(execId)}`, { offset, limit: LIMIT }, s),
    [execId, offset],
  );
  const refresh = useMemo(() => throttle(d.reload, 700), [d.reload]);
  useRetryWhileMissing(d);
  useLive(['run', 'result'], (_t, data) => {
    const id = (data as { execId?: string } | null)?.execId;
    if (id === undefined || id === execId) refresh();
  });

  if (!d.data) return d.error ? <ErrorBox error={d.error} /> : <Loading />;
  const { execution: e, outputGroups } = d.data;
  const { pcs, total } = pcRunsOf(d.data);
  const counts = countsOf(e);
  const final = e.final ?? (e.status !== undefined && e.status !== 'running');
  const rows = stateFilter ? pcs.filter((p) => p.state === stateFilter) : pcs;
  const kill = async () => {
    if (!confirm(`Kill every running script of execution ${execId}?`)) return;
    try {
      await api.post(`/api/runs/${seg(execId)}/kill`);
      setKillError(undefined);
      d.reload();
    } catch (err) {
      setKillError(err as ApiError);
    }
  };

  return (
    <>
      <PageHeader
        title={
          <>
            <a href={href('jobs', e.jobId)}>{e.jobId}</a> <span class="muted">execution</span>{' '}
            <span class="mono">{shortId(execId, 16)}</span>
          </>
        }
        sub={
          <>
            <Badge status={e.status ?? (final ? 'done' : 'running')} /> {triggerLabel(e)} · started{' '}
            {fmtTime(e.startedAt ?? e.createdAt)}
            {e.finishedAt && <> · finished {fmtTime(e.finishedAt)}</>}
          </>
        }
        actions={
          canKill && !final ? (
            <button type="button" class="danger" onClick={() => void kill()}>
              Kill
            </button>
          ) : undefined
        }
      />
      <ErrorBox error={killError} />
      <Card>
        <div data-testid="exec-status" data-final={String(final)} data-status={e.status ?? ''}>
          <CountsBar counts={counts} expected={e.expected ?? null} />
        </div>
        <KeyValues
          rows={[
            ['execution id', <span class="mono">{e.execId}</span>],
            [
              'job version',
              e.jobVersion ? `${e.jobVersion}${e.jobRevision ? ` (revision ${e.jobRevision})` : ''}` : '—',
            ],
            ['expected endpoints', e.expected ?? '—'],
            ['targets', e.targets ? <code>{e.targets.map(formatRunTarget).join(', ')}</code> : '—'],
            ...(e.params && Object.keys(e.params).length > 0
              ? ([['params', <code>{JSON.stringify(e.params)}</code>]] as [string, preact.JSX.Element][])
              : []),
          ]}
        />
      </Card>
      {outputGroups.length > 0 && (
        <Card
          title={`Output groups · ${outputGroups.length} distinct across ${outputGroups.reduce((n, g) => n + g.count, 0)} endpoints`}
        >
          <div class="groups">
            {outputGroups.map((g, i) => (
              <div class="group" key={g.sha256 ?? g.stdoutSha256 ?? i}>
                <div class="group-head">
                  <Badge status={g.status} /> exit {g.exitCode ?? '—'} · <strong>{g.count}</strong> endpoint
                  {g.count === 1 ? '' : 's'}
                  {g.sampleResultId && (
                    <a class="right" href={href('results', g.sampleResultId)}>
                      open result →
                    </a>
                  )}
                </div>
                {g.preview !== undefined ? (
                  <pre class="preview">{g.preview || <span class="muted">(no output)</span>}</pre>
                ) : (
                  g.sampleResultId && <GroupPreview resultId={g.sampleResultId} />
                )}
                <div class="muted small">
                  {g.pcs.slice(0, 12).join(', ')}
                  {g.pcs.length > 12 && ` and ${g.pcs.length - 12} more`}
                </div>
              </div>
            ))}
          </div>
        </Card>
      )}
      <Card
        title={`Endpoints · ${total}`}
        actions={
          <select
            aria-label="filter by state"
            value={stateFilter}
            onChange={(ev) => setStateFilter((ev.target as HTMLSelectElement).value)}
          >
            <option value="">all states</option>
            {Object.keys(counts)
              .filter((k) => k !== 'total' && (counts as Record<string, number>)[k])
              .map((k) => (
                <option key={k} value={k}>
                  {k}
                </option>
              ))}
          </select>
        }
      >
        {rows.length === 0 ? (
          <Empty>No endpoints in this state.</Empty>
        ) : (
          <table class="data" aria-label="endpoints">
            <thead>
              <tr>
                <th>endpoint</th>
                <th>state</th>
                <th class="num">exit</th>
                <th class="num">duration</th>
                <th>result</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((p) => [
                <tr key={p.pcId} data-pc={p.pcId} data-state={p.state}>
                  <td>
                    <a href={href('agents', p.pcId)}>{p.pcId}</a>
                  </td>
                  <td>
                    <Badge status={p.state} title={p.reason ?? undefined} />
                    {p.reason && <span class="muted small"> {p.reason}</span>}
                  </td>
                  <td class="num">{p.exitCode ?? '—'}</td>
                  <td class="num">{fmtDuration(p.durationMs)}</td>
                  <td>
                    {p.resultId ? (
                      <a href={href('results', p.resultId)}>
                        {FINAL_STATES.has(p.state) ? 'output →' : 'result →'}
                      </a>
                    ) : p.requestId && !FINAL_STATES.has(p.state) ? (
                      <button
                        type="button"
                        class="link"
                        aria-expanded={liveFor === p.pcId}
                        onClick={() => setLiveFor(liveFor === p.pcId ? null : p.pcId)}
                      >
                        {liveFor === p.pcId ? 'live ▾' : 'live ▸'}
                      </button>
                    ) : (
                      <span class="muted">—</span>
                    )}
                  </td>
                </tr>,
                liveFor === p.pcId && p.requestId && !p.resultId ? (
                  <tr key={`${p.pcId}-live`} class="live-row">
                    <td colSpan={5}>
                      <LiveOutput pcId={p.pcId} requestId={p.requestId} />
                    </td>
                  </tr>
                ) : null,
              ])}
            </tbody>
          </table>
        )}
        {total > LIMIT && <Pager offset={offset} limit={LIMIT} total={total} onChange={setOffset} />}
      </Card>
    </>
  );
}

const PREVIEW_BYTES = 2048;

/** The first 2 KiB of a group's stdout (one sample result stands for the whole group). */
function GroupPreview({ resultId }: { resultId: string }) {
  const p = useApi((s) => fetchOutputRange(resultId, 'stdout', 0, PREVIEW_BYTES, s), [resultId]);
  if (p.error) return <ErrorBox error={p.error} />;
  if (p.data === undefined) return <pre class="preview muted">…</pre>;
  return <pre class="preview">{p.data === '' ? <span class="muted">(no output)</span> : p.data}</pre>;
}
