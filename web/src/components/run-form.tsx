// Run a job now on all endpoints, a group or one pc. When the job declares parameters, the form
// has one typed field per declaration (enum → select, boolean → checkbox, integer/number → number
// input with its bounds, string → text with its max length and pattern, duration → text); the
// server validates the values again and explains any problem per parameter.
import { useState } from 'preact/hooks';
import type { ApiError } from '../api.js';
import { api } from '../api.js';
import { href, navigate } from '../router.js';
import { ErrorBox } from './ui.js';

type TargetKind = 'all' | 'group' | 'pc';

/** A parameter declaration as the job stores it (src/wire/params.ts). */
export type ParamDecl = {
  type: 'string' | 'integer' | 'number' | 'boolean' | 'enum' | 'duration';
  required: boolean;
  default?: string;
  description?: string;
  min?: number;
  max?: number;
  maxLength?: number;
  pattern?: string;
  values?: string[];
};

/** The values to send: fields left empty are omitted, so the job's defaults apply. */
export function paramValues(
  decls: Record<string, ParamDecl>,
  values: Record<string, string>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(decls)) {
    const v = values[name];
    if (v !== undefined && v !== '') out[name] = v;
  }
  return out;
}

function ParamField({
  name,
  decl,
  value,
  set,
}: {
  name: string;
  decl: ParamDecl;
  value: string;
  set: (v: string) => void;
}) {
  const label = (
    <span>
      {name}
      {decl.required && <span class="muted"> *</span>}
      {decl.description && <span class="muted small"> — {decl.description}</span>}
      {/* Not an HTML pattern attribute: browsers compile it in `v` mode, where common job
          patterns are invalid and silently ignored. The server checks it and says so. */}
      {decl.pattern && <span class="muted small"> (matches {decl.pattern})</span>}
    </span>
  );
  const onInput = (e: Event) => set((e.target as HTMLInputElement).value);
  switch (decl.type) {
    case 'enum':
      return (
        <label>
          {label}
          <select name={`param-${name}`} value={value} onChange={onInput} required={decl.required}>
            <option value="">{decl.default !== undefined ? `default (${decl.default})` : '—'}</option>
            {(decl.values ?? []).map((v) => (
              <option key={v} value={v}>
                {v}
              </option>
            ))}
          </select>
        </label>
      );
    case 'boolean':
      return (
        <label class="inline">
          <input
            type="checkbox"
            name={`param-${name}`}
            checked={(value || decl.default) === 'true'}
            onChange={(e) => set((e.target as HTMLInputElement).checked ? 'true' : 'false')}
          />
          {label}
        </label>
      );
    case 'integer':
    case 'number':
      return (
        <label>
          {label}
          <input
            type="number"
            name={`param-${name}`}
            value={value}
            onInput={onInput}
            required={decl.required}
            step={decl.type === 'integer' ? 1 : 'any'}
            {...(decl.min !== undefined ? { min: decl.min } : {})}
            {...(decl.max !== undefined ? { max: decl.max } : {})}
            placeholder={
              decl.default ??
              (decl.min !== undefined || decl.max !== undefined ? `${decl.min ?? ''}..${decl.max ?? ''}` : '')
            }
          />
        </label>
      );
    case 'string':
    case 'duration':
    default:
      return (
        <label>
          {label}
          <input
            name={`param-${name}`}
            value={value}
            onInput={onInput}
            required={decl.required}
            {...(decl.maxLength !== undefined ? { maxLength: decl.maxLength } : {})}
            placeholder={decl.default ?? (decl.type === 'duration' ? 'e.g. 30s, 5m' : '')}
          />
        </label>
      );
  }
}

export function RunForm({
  jobId,
  revoked,
  params,
}: {
  jobId: string;
  revoked: boolean;
  params?: Record<string, ParamDecl>;
}) {
  const [kind, setKind] = useState<TargetKind>('all');
  const [value, setValue] = useState('');
  const [values, setValues] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | Error | undefined>();
  const decls = params ?? {};

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    const p = paramValues(decls, values);
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
      {Object.entries(decls).map(([name, decl]) => (
        <ParamField
          key={name}
          name={name}
          decl={decl}
          value={values[name] ?? ''}
          set={(v) => setValues({ ...values, [name]: v })}
        />
      ))}
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
