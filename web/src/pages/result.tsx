import { useState } from 'preact/hooks';
import { api, seg } from '../api.js';
import { useApi, useRetryWhileMissing } from '../hooks.js';
import { href } from '../router.js';
import { fmtBytes, fmtDuration, fmtTime, shortId } from '../format.js';
import type { OutputMeta, Result } from '../types.js';
import { Badge, Card, ErrorBox, KeyValues, Loading, PageHeader } from '../components/ui.js';
import { OutputViewer } from '../components/output-viewer.js';

function meta(r: Result, s: 'stdout' | 'stderr'): OutputMeta {
  const m = r[s];
  if (typeof m === 'number') return { bytes: m };
  if (m && typeof m === 'object') return m;
  return { bytes: (s === 'stdout' ? r.stdoutBytes : r.stderrBytes) ?? 0 };
}

export function ResultPage({ resultId }: { resultId: string }) {
  const d = useApi((s) => api.get<Result>(`/api/results/${seg(resultId)}`, {}, s), [resultId]);
  const [tab, setTab] = useState<'stdout' | 'stderr'>('stdout');
  useRetryWhileMissing(d);
  if (!d.data) return d.error ? <ErrorBox error={d.error} /> : <Loading />;
  const r = d.data;
  const out = meta(r, 'stdout');
  const err = meta(r, 'stderr');
  const cur = tab === 'stdout' ? out : err;
  return (
    <>
      <PageHeader
        title={
          <>
            {r.jobId ? <a href={href('jobs', r.jobId)}>{r.jobId}</a> : 'Result'} <span class="muted">on</span>{' '}
            {r.pcId ? <a href={href('agents', r.pcId)}>{r.pcId}</a> : '?'}
          </>
        }
        sub={
          <>
            <Badge status={r.status} /> exit {r.exitCode ?? '—'}
            {r.reason && <> · {r.reason}</>} · finished {fmtTime(r.finishedAt)} · {fmtDuration(r.durationMs)}
          </>
        }
        actions={r.execId ? <a href={href('runs', r.execId)}>← execution {shortId(r.execId)}</a> : undefined}
      />
      <Card>
        <KeyValues
          rows={[
            ['result id', <span class="mono">{r.resultId ?? resultId}</span>],
            ['job version', r.jobVersion ?? '—'],
            ['started', fmtTime(r.startedAt)],
            [
              'stdout',
              `${fmtBytes(out.bytes)}${out.overflowed || out.stored === 'object' || r.overflowed ? ' (object store)' : ''}${(out.sha256 ?? r.sha256) ? ` · sha256 ${(out.sha256 ?? r.sha256 ?? '').slice(0, 12)}…` : ''}`,
            ],
            [
              'stderr',
              `${fmtBytes(err.bytes)}${err.overflowed || err.stored === 'object' ? ' (object store)' : ''}`,
            ],
          ]}
        />
      </Card>
      <Card>
        <div class="tabs" role="tablist">
          {(['stdout', 'stderr'] as const).map((s) => (
            <button key={s} type="button" role="tab" aria-selected={tab === s} onClick={() => setTab(s)}>
              {s} <span class="muted small">{fmtBytes(meta(r, s).bytes)}</span>
            </button>
          ))}
        </div>
        <OutputViewer key={tab} resultId={r.resultId ?? resultId} stream={tab} bytes={cur.bytes} />
      </Card>
    </>
  );
}
