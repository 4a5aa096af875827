// Small shared pieces: status badges, counters bar, error box, empty states, page header.
import type { ComponentChildren } from 'preact';
import type { ApiError } from '../api.js';
import { RUN_STATES, type Counts } from '../types.js';

export function Badge({ status, title }: { status: string | null | undefined; title?: string }) {
  const s = status ?? 'unknown';
  return (
    <span class={`badge st-${s}`} title={title ?? s}>
      {s}
    </span>
  );
}

export function Presence({ online }: { online: boolean }) {
  return (
    <span class={`presence ${online ? 'on' : 'off'}`}>
      <span class="dot" aria-hidden="true" />
      {online ? 'online' : 'offline'}
    </span>
  );
}

/** A stacked bar of run states plus the non-zero counts as text (readable without color). */
export function CountsBar({ counts, expected }: { counts: Counts; expected?: number | null }) {
  const total = Math.max(
    expected ?? 0,
    counts.total ?? 0,
    RUN_STATES.reduce((n, s) => n + (counts[s] ?? 0), 0),
  );
  const parts = RUN_STATES.filter((s) => (counts[s] ?? 0) > 0);
  return (
    <div class="counts">
      <div class="bar" role="img" aria-label={parts.map((s) => `${counts[s]} ${s}`).join(', ') || 'no runs'}>
        {total > 0 &&
          parts.map((s) => (
            <span key={s} class={`seg st-${s}`} style={{ width: `${((counts[s] ?? 0) / total) * 100}%` }} />
          ))}
      </div>
      <div class="counts-text">
        {parts.length === 0 ? (
          <span class="muted">no runs yet</span>
        ) : (
          parts.map((s) => (
            <span key={s} class={`count st-text-${s}`} data-state={s}>
              {counts[s]} {s}
            </span>
          ))
        )}
        {total > 0 && <span class="muted"> / {total}</span>}
      </div>
    </div>
  );
}

export function ErrorBox({ error, title }: { error: ApiError | Error | undefined | null; title?: string }) {
  if (!error) return null;
  const e = error as ApiError;
  return (
    <div class="error-box" role="alert">
      <strong>
        {title ?? (e.status === 403 ? 'Not allowed' : e.status === 404 ? 'Not found' : 'Error')}
      </strong>{' '}
      {e.message}
      {e.issues && e.issues.length > 0 && (
        <ul>
          {e.issues.map((i, n) => (
            <li key={n}>
              {i.line !== undefined && <code>line {i.line}</code>} {i.path && <code>{i.path}</code>}{' '}
              {i.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <div class="empty">{children}</div>;
}

export function Loading() {
  return (
    <div class="loading" aria-busy="true">
      Loading…
    </div>
  );
}

export function PageHeader({
  title,
  sub,
  actions,
}: {
  title: ComponentChildren;
  sub?: ComponentChildren;
  actions?: ComponentChildren;
}) {
  return (
    <header class="page-header">
      <div>
        <h1>{title}</h1>
        {sub && <div class="sub">{sub}</div>}
      </div>
      {actions && <div class="actions">{actions}</div>}
    </header>
  );
}

export function Card({
  title,
  children,
  actions,
}: {
  title?: ComponentChildren;
  children: ComponentChildren;
  actions?: ComponentChildren;
}) {
  return (
    <section class="card">
      {(title || actions) && (
        <div class="card-head">
          {title && <h2>{title}</h2>}
          {actions}
        </div>
      )}
      {children}
    </section>
  );
}

export function KeyValues({ rows }: { rows: [ComponentChildren, ComponentChildren][] }) {
  return (
    <dl class="kv">
      {rows.map(([k, v], i) => (
        <div key={i}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

/** Offset pager for large lists (agents): "1–100 of 10,000" with previous/next. */
export function Pager({
  offset,
  limit,
  total,
  onChange,
}: {
  offset: number;
  limit: number;
  total: number;
  onChange: (offset: number) => void;
}) {
  const last = Math.max(0, Math.floor((Math.max(total, 1) - 1) / limit) * limit);
  return (
    <nav class="pager" aria-label="pages">
      <button type="button" disabled={offset <= 0} onClick={() => onChange(0)} aria-label="first page">
        «
      </button>
      <button type="button" disabled={offset <= 0} onClick={() => onChange(Math.max(0, offset - limit))}>
        ‹ Prev
      </button>
      <span class="muted">
        {total === 0 ? 0 : offset + 1}–{Math.min(offset + limit, total)} of {total.toLocaleString()}
      </span>
      <button type="button" disabled={offset + limit >= total} onClick={() => onChange(offset + limit)}>
        Next ›
      </button>
      <button type="button" disabled={offset >= last} onClick={() => onChange(last)} aria-label="last page">
        »
      </button>
    </nav>
  );
}
