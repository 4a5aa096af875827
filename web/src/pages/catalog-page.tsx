// One job or schedule: the YAML editor (server validation at the lines, compare-and-swap save,
// the text sent verbatim so comments survive), the receipt history, and per kind: run the job on
// a target, revoke/unrevoke; enable/disable the schedule and preview its next fires.
// `id === null` is the "new object" page: the id comes from the YAML, saved with PUT (create).
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { ApiError } from '../api.js';
import { api, seg, type Issue } from '../api.js';
import { useApi } from '../hooks.js';
import { useLive } from '../live.js';
import { href, navigate } from '../router.js';
import { fmtAgo, fmtTime } from '../format.js';
import { actorName, itemsOf, type AuditEvent, type CatalogDetail } from '../types.js';
import { useCan } from '../user.js';
import { Badge, Card, Empty, ErrorBox, KeyValues, Loading, PageHeader } from '../components/ui.js';
import { YamlEditor } from '../components/yaml-editor.js';
import { RunForm, type ParamDecl } from '../components/run-form.js';

type Kind = 'jobs' | 'schedules';
const singular = (k: Kind) => (k === 'jobs' ? 'job' : 'schedule');

const TEMPLATES: Record<Kind, string> = {
  jobs: `# A job: what runs on the endpoints. The text is stored as written, comments included.
kind: job
id: hello
version: 1.0.0
description: Say hello from every endpoint
execute:
  shell: sh
  script: |
    echo "hello from $(hostname)"
  timeout: 30s
`,
  schedules: `# A schedule: when a job fires, and where.
kind: schedule
id: hello-nightly
job: hello
target: { all: true }
cron: "0 3 * * 1-5"
timezone: UTC
`,
};

/** The `id:` of the first document, for the new-object page (the server checks it again). */
export function idFromYaml(yaml: string): string | null {
  const m = /^id:\s*["']?([A-Za-z0-9][A-Za-z0-9._-]*)["']?\s*(#.*)?$/m.exec(yaml);
  return m?.[1] ?? null;
}

export function CatalogPage({ kind, id }: { kind: Kind; id: string | null }) {
  const canEdit = useCan('operator');
  const detail = useApi(
    (s) => (id === null ? Promise.resolve(null) : api.get<CatalogDetail>(`/api/${kind}/${seg(id)}`, {}, s)),
    [kind, id],
  );
  const [text, setText] = useState<string | null>(id === null ? TEMPLATES[kind] : null);
  const [issues, setIssues] = useState<Issue[]>([]);
  const [saveError, setSaveError] = useState<ApiError | undefined>();
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [conflict, setConflict] = useState(false);
  const validateSeq = useRef(0);

  const d = detail.data;
  // Load the stored YAML into the editor once (and again after "reload latest").
  useEffect(() => {
    if (d && text === null) setText(d.yaml);
  }, [d, text]);

  const dirty = d ? text !== null && text !== d.yaml : id === null;

  // Server validation while typing (debounced), so issues sit at their lines before saving.
  useEffect(() => {
    if (text === null || !canEdit) return;
    const seq = ++validateSeq.current;
    const t = setTimeout(() => {
      api
        .post<{ ok: boolean; issues: Issue[] }>('/api/validate', {
          yaml: text,
          file: id ? `${singular(kind)} ${id}` : 'new',
        })
        .then((r) => {
          if (seq === validateSeq.current) setIssues(r.issues ?? []);
        })
        .catch(() => undefined); // Validation is advisory; save reports errors itself.
    }, 500);
    return () => clearTimeout(t);
  }, [text, kind, id, canEdit]);

  const save = async () => {
    if (text === null) return;
    const target = id ?? idFromYaml(text);
    if (!target) {
      setIssues([{ line: 1, path: 'id', message: 'the YAML needs an id: line' }]);
      return;
    }
    setBusy(true);
    setSaveError(undefined);
    setNotice(null);
    try {
      const r = await api.put<{ changed?: boolean; revision?: number }>(`/api/${kind}/${seg(target)}`, {
        yaml: text,
        baseRevision: d ? d.revision : null,
      });
      setConflict(false);
      setIssues([]);
      if (id === null) {
        navigate(href(kind, target));
        return;
      }
      setNotice(r.changed === false ? 'No changes.' : `Saved as revision ${r.revision ?? '?'}.`);
      setText(null);
      detail.reload();
      history.reload();
    } catch (err) {
      const e = err as ApiError;
      setSaveError(e);
      if (e.issues?.length) setIssues(e.issues);
      setConflict(e.status === 409 || e.status === 428);
    } finally {
      setBusy(false);
    }
  };

  const action = async (verb: string) => {
    if (!id) return;
    setSaveError(undefined);
    try {
      await api.post(`/api/${kind}/${seg(id)}/${verb}`);
      setNotice(`${verb}d.`);
      setText(null);
      detail.reload();
      history.reload();
    } catch (err) {
      setSaveError(err as ApiError);
    }
  };

  const history = useApi(
    (s) =>
      id === null
        ? Promise.resolve({ items: [] })
        : api.get<{ items: AuditEvent[] }>(`/api/${kind}/${seg(id)}/history`, {}, s),
    [kind, id],
  );
  useLive(['audit'], (_t, data) => {
    const target = (data as { target?: { id?: string } } | null)?.target?.id;
    if (id !== null && target === id) {
      history.reload();
      if (!dirty) {
        setText(null);
        detail.reload();
      }
    }
  });

  if (id !== null && !d) return detail.error ? <ErrorBox error={detail.error} /> : <Loading />;

  const onKeyDown = (e: KeyboardEvent) => {
    if ((e.ctrlKey || e.metaKey) && e.key === 'Enter' && canEdit) {
      e.preventDefault();
      void save();
    }
  };
  const sched = kind === 'schedules' ? (d?.schedule ?? {}) : {};
  const enabled = d?.enabled ?? (sched['enabled'] as boolean | undefined);
  const status = d?.status ?? 'ACTIVE';
  const written = d?.written;

  return (
    <>
      <PageHeader
        title={
          id === null ? (
            `New ${singular(kind)}`
          ) : (
            <>
              <span class="muted">{singular(kind)}</span> {id}
            </>
          )
        }
        sub={
          d && (
            <>
              revision {d.revision}
              {written?.at && (
                <>
                  {' '}
                  · last written by {written.actor?.name ?? '?'} via {written.via ?? '?'} {fmtAgo(written.at)}
                </>
              )}
            </>
          )
        }
        actions={
          <>
            {kind === 'jobs' && id && <Badge status={status.toLowerCase()} />}
            {kind === 'schedules' && id && <Badge status={enabled === false ? 'disabled' : 'enabled'} />}
            {canEdit && kind === 'jobs' && id && (
              <button
                type="button"
                class={status === 'REVOKED' ? '' : 'danger'}
                onClick={() => void action(status === 'REVOKED' ? 'unrevoke' : 'revoke')}
              >
                {status === 'REVOKED' ? 'Unrevoke' : 'Revoke'}
              </button>
            )}
            {canEdit && kind === 'schedules' && id && (
              <button type="button" onClick={() => void action(enabled === false ? 'enable' : 'disable')}>
                {enabled === false ? 'Enable' : 'Disable'}
              </button>
            )}
            {kind === 'jobs' && id && <a href={href('runs', { job: id })}>Runs →</a>}
          </>
        }
      />
      <div class={id ? 'two-col' : ''}>
        <div>
          <Card
            title="YAML"
            actions={
              <span class="muted small">
                {dirty ? 'unsaved changes' : 'saved'}
                {issues.length > 0 && (
                  <span class="fail-text">
                    {' '}
                    · {issues.length} issue{issues.length === 1 ? '' : 's'}
                  </span>
                )}
              </span>
            }
          >
            <div onKeyDown={onKeyDown}>
              {text === null ? (
                <Loading />
              ) : (
                <YamlEditor
                  label={`${singular(kind)} YAML`}
                  value={text}
                  onInput={setText}
                  issues={issues}
                  readOnly={!canEdit}
                />
              )}
            </div>
            <ErrorBox error={saveError} title={conflict ? 'Conflict' : undefined} />
            {conflict && d && (
              <p class="small">
                Someone saved a newer revision. Copy your change, then{' '}
                <button
                  type="button"
                  class="link"
                  onClick={() => (setText(null), setConflict(false), detail.reload())}
                >
                  load the latest revision
                </button>
                .
              </p>
            )}
            {notice && (
              <p class="notice" role="status">
                {notice}
              </p>
            )}
            {canEdit && (
              <div class="form-actions">
                <button type="button" class="primary" disabled={busy || !dirty} onClick={() => void save()}>
                  {id === null ? `Create ${singular(kind)}` : 'Save'}
                </button>
                {d && dirty && (
                  <button type="button" onClick={() => setText(d.yaml)}>
                    Discard changes
                  </button>
                )}
                <span class="muted small">Ctrl+Enter saves</span>
              </div>
            )}
          </Card>
        </div>
        {id && (
          <div>
            {kind === 'jobs' && canEdit && (
              <Card title="Run">
                <RunForm
                  jobId={id}
                  revoked={status === 'REVOKED'}
                  params={d?.manifest?.['params'] as Record<string, ParamDecl> | undefined}
                />
              </Card>
            )}
            {kind === 'jobs' && d && (
              <Card title="Details">
                <KeyValues
                  rows={[
                    ['version', String((d.manifest?.['version'] as string | undefined) ?? d.version ?? '—')],
                    ['pinned version', d.pinnedVersion ?? '—'],
                    ['status', status],
                  ]}
                />
              </Card>
            )}
            {kind === 'schedules' && <SchedulePreview id={id} revision={d?.revision ?? 0} />}
            <Card title="History">
              <History events={itemsOf<AuditEvent>(history.data)} />
            </Card>
          </div>
        )}
      </div>
    </>
  );
}

function History({ events }: { events: AuditEvent[] }) {
  if (events.length === 0) return <Empty>No receipts yet.</Empty>;
  return (
    <ol class="receipts">
      {events.map((e) => (
        <li key={e.id}>
          <div>
            <code>{e.action}</code> <span class="muted">by</span> {actorName(e.actor)}
            {typeof e.source === 'object' && e.source?.via && <span class="muted"> via {e.source.via}</span>}
          </div>
          <div class="small">{e.summary}</div>
          <div class="muted small">
            {fmtTime(e.at)} · revision {e.revisionBefore ?? '∅'} → {e.revisionAfter ?? '∅'}
          </div>
        </li>
      ))}
    </ol>
  );
}

function SchedulePreview({ id, revision }: { id: string; revision: number }) {
  const p = useApi(
    (s) =>
      api.get<{ timezone?: string; fires: ({ utc: string; local: string } | string)[] }>(
        `/api/schedules/${seg(id)}/preview`,
        { count: 10 },
        s,
      ),
    [id, revision],
  );
  const fires = useMemo(() => p.data?.fires ?? [], [p.data]);
  return (
    <Card title={`Next fires${p.data?.timezone ? ` (${p.data.timezone})` : ''}`}>
      <ErrorBox error={p.error} />
      {fires.length === 0 ? (
        <Empty>{p.loading ? 'Loading…' : 'No upcoming fires (disabled or outside its active window).'}</Empty>
      ) : (
        <table class="data compact" aria-label="next fires">
          <thead>
            <tr>
              <th>local</th>
              <th>UTC</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {fires.map((f, i) => {
              const utc = typeof f === 'string' ? f : f.utc;
              const local = typeof f === 'string' ? f : f.local;
              return (
                <tr key={i}>
                  <td class="mono">{local}</td>
                  <td class="mono muted">{utc.replace('.000Z', 'Z')}</td>
                  <td class="muted small">{fmtAgo(utc)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </Card>
  );
}
