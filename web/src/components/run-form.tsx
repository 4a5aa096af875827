// Run a job now on all endpoints, a group or one pc, with optional params; opens the execution.
import { useState } from 'preact/hooks';
import type { ApiError } from '../api.js';
import { api } from '../api.js';
import { href, navigate } from '../router.js';
import { ErrorBox } from './ui.js';

type TargetKind = 'all' | 'group' | 'pc';

export function parseParams(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const eq = t.indexOf('=');
    if (eq <= 0) throw new Error(`params: '${t}' is not key=value`);
    out[t.slice(0, eq).trim()] = t.slice(eq + 1).trim();
  }
  return out;
}

export function RunForm({ jobId, revoked }: { jobId: string; revoked: boolean }) {
  const [kind, setKind] = useState<TargetKind>('all');
  const [value, setValue] = useState('');
  const [params, setParams] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | Error | undefined>();

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    let p: Record<string, string>;
    try {
      p = parseParams(params);
    } catch (err) {
      setError(err as Error);
      return;
    }
    const target =
      kind === 'all'
        ? { kind }
        : kind === 'group'
          ? { kind, group: value.trim() }
          : { kind, pcId: value.trim() };
    setBusy(true);
    try {
      const r = await api.post<{ execId: string }>('/api/runs', {
        jobId,
        targets: [target],
        ...(Object.keys(p).length > 0 ? { params: p } : {}),
      });
      navigate(href('runs', r.execId));
    } catch (err) {
      setError(err as ApiError);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="run-form" onSubmit={(e) => void submit(e)} aria-label="run job">
      <fieldset class="seg-buttons" aria-label="target">
        {(['all', 'group', 'pc'] as const).map((k) => (
          <label key={k} class={kind === k ? 'on' : ''}>
            <input type="radio" name="target" value={k} checked={kind === k} onChange={() => setKind(k)} />
            {k === 'all' ? 'all endpoints' : k}
          </label>
        ))}
      </fieldset>
      {kind !== 'all' && (
        <label>
          {kind === 'group' ? 'group' : 'pc id'}
          <input
            name="target-value"
            required
            value={value}
            onInput={(e) => setValue((e.target as HTMLInputElement).value)}
            placeholder={kind === 'group' ? 'lab-a' : 'web-01'}
          />
        </label>
      )}
      <label>
        params <span class="muted small">(key=value per line, optional)</span>
        <textarea
          name="params"
          rows={2}
          value={params}
          onInput={(e) => setParams((e.target as HTMLTextAreaElement).value)}
        />
      </label>
      <ErrorBox error={error} />
      <button
        type="submit"
        class="primary"
        disabled={busy || revoked}
        title={revoked ? 'the job is revoked' : undefined}
      >
        {busy ? 'Starting…' : 'Run now'}
      </button>
    </form>
  );
}
