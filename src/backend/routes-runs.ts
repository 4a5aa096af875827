// Executions and results: start a run, list and show executions (per-pc rows paged), kill, and
// read a result's metadata and output by byte range.
import { z } from 'zod';
import { Duration, ExecTarget, JobId, parseDuration } from '../wire/index.js';
import { JobStore, publishAudit, requestKill, startExecution } from '../kv/index.js';
import { api, apiMeta, type BackendDeps } from './deps.js';
import { Reply, badRequest, notFound, queryInt, type Route } from './http.js';
import { outputRange } from './output.js';

const StartRun = z.strictObject({
  jobId: JobId,
  targets: z.array(ExecTarget).min(1).max(100),
  params: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/), z.string().max(4096)).optional(),
  /** Agents skip the requests after this long, e.g. `30m`. Default 1 h. */
  deadline: Duration.optional(),
});

/** An opaque paging cursor: the offset of the next page. */
export const encodeCursor = (offset: number) =>
  Buffer.from(JSON.stringify({ o: offset })).toString('base64url');
export function decodeCursor(c: string | undefined): number {
  if (c === undefined) return 0;
  try {
    const o = (JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as { o?: unknown }).o;
    if (typeof o === 'number' && Number.isInteger(o) && o >= 0) return o;
  } catch {
    // reported below
  }
  throw badRequest(`cursor: '${c}' is not a cursor this API returned`, { issues: [{ path: 'query.cursor', message: 'not a cursor this API returned' }] });
} // prettier-ignore

/** `since`: an RFC 3339 time or a duration back from now (`24h`). */
export const Since = z.string().transform((s, ctx) => {
  if (/^\d{4}-\d\d-\d\d/.test(s) && !Number.isNaN(Date.parse(s))) return new Date(Date.parse(s)).toISOString();
  try {
    return new Date(Date.now() - parseDuration(s)).toISOString();
  } catch {
    ctx.addIssue({ code: 'custom', message: `'${s}' is neither an RFC 3339 time nor a duration like 24h` });
    return z.NEVER;
  }
}); // prettier-ignore

const RunsQuery = z.object({
  job: JobId.optional(),
  status: z.enum(['running', 'ok', 'failed']).optional(),
  since: Since.optional(),
  limit: queryInt(1, 500, 50),
  cursor: z.string().optional(),
});

const ExecParams = z.object({ execId: z.string().min(1).max(128) });
const ResultParams = z.object({ resultId: z.string().min(1).max(300) });

/** Most executions a cursor can reach back (offset paging over the newest rows). */
const MAX_RUNS_WINDOW = 20_000;

export const runRoutes: Route<BackendDeps>[] = [
  api({
    method: 'POST', path: '/api/runs', role: 'operator', tag: 'runs', body: StartRun,
    summary: 'run a job on targets (receipt run.start); answers the exec id and the expected pcs',
    async handle({ body, deps, caller }) {
      const job = await (await JobStore.open(deps.nc)).require(body.jobId);
      const started = await startExecution(deps.nc, {
        job, targets: body.targets, trigger: { kind: 'adhoc', actor: caller.user }, ...apiMeta(caller),
        ...(body.deadline !== undefined ? { deadlineMs: body.deadline } : {}), params: body.params ?? {},
      });
      return new Reply(201, { execId: started.execId, expectedPcs: started.expectedPcs, deadlineAt: started.deadlineAt, requestIds: started.requestIds, receiptId: started.receipt.id });
    },
  }),
  api({
    method: 'GET', path: '/api/runs', role: 'viewer', tag: 'runs', query: RunsQuery,
    summary: 'executions newest first with their counters; paged by cursor',
    async handle({ query, deps }) {
      const offset = decodeCursor(query.cursor);
      if (offset + query.limit > MAX_RUNS_WINDOW) throw badRequest(`cursor: paging stops after ${MAX_RUNS_WINDOW} executions; narrow with since, job or status`);
      const rows = deps.readModel.executions({
        ...(query.job ? { jobId: query.job } : {}), ...(query.status ? { status: query.status } : {}),
        ...(query.since ? { since: query.since } : {}), limit: offset + query.limit + 1,
      });
      const items = rows.slice(offset, offset + query.limit);
      return { items, nextCursor: rows.length > offset + query.limit ? encodeCursor(offset + query.limit) : null };
    },
  }),
  api({
    method: 'GET', path: '/api/runs/:execId', role: 'viewer', tag: 'runs', params: ExecParams,
    query: z.object({ offset: queryInt(0, 10_000_000, 0), limit: queryInt(1, 5000, 500) }),
    summary: 'one execution: counters, per-pc rows (paged by offset/limit) and output groups',
    async handle({ params, query, deps }) {
      const rm = deps.readModel;
      const execution = rm.execution(params.execId);
      if (!execution) throw notFound(`no execution '${params.execId}' in the read model (yet)`);
      const runs = rm.runs(params.execId);
      return {
        execution,
        runs: { total: runs.length, offset: query.offset, limit: query.limit, items: runs.slice(query.offset, query.offset + query.limit) },
        outputGroups: rm.outputGroups(params.execId),
      };
    },
  }),
  api({
    method: 'POST', path: '/api/runs/:execId/kill', role: 'operator', tag: 'runs', params: ExecParams,
    summary: 'kill the running scripts of an execution on every agent (receipt run.kill)',
    async handle({ params, deps, caller }) {
      const replies = await requestKill(deps.nc, params.execId);
      const killed = replies.filter((r) => r.killed > 0).map((r) => r.pcId).sort();
      const receipt = await publishAudit(deps.nc, {
        ...apiMeta(caller), action: 'run.kill', target: { kind: 'exec', id: params.execId },
        revisionBefore: null, revisionAfter: null, summary: `killed execution ${params.execId} on ${killed.length} pcs`, details: { pcs: killed },
      });
      return { execId: params.execId, killedOn: killed, answered: replies.length, receiptId: receipt.id };
    },
  }),
  api({
    method: 'GET', path: '/api/results/:resultId', role: 'viewer', tag: 'results', params: ResultParams,
    summary: 'one result: status, exit code, times and its output streams (sizes, sha256, where stored; no data)',
    async handle({ params, deps }) {
      const r = deps.readModel.result(params.resultId);
      if (!r) throw notFound(`no result '${params.resultId}' in the read model (yet)`);
      const meta = (s: typeof r.stdout) => ({
        bytes: s.bytes, sha256: s.sha256, stored: s.inline ? 'inline' : s.object ? 'object' : 'none',
        ...(s.object ? { object: s.object } : {}), dropped: s.dropped ?? 0,
      });
      return { ...r, stdout: meta(r.stdout), stderr: meta(r.stderr) };
    },
  }),
  api({
    method: 'GET', path: '/api/results/:resultId/output', role: 'viewer', tag: 'results', params: ResultParams, produces: 'text',
    query: z.object({ stream: z.enum(['stdout', 'stderr']).default('stdout'), offset: queryInt(0, Number.MAX_SAFE_INTEGER, 0), limit: queryInt(1, 8 * 1024 * 1024, 1024 * 1024) }),
    summary: 'raw output bytes [offset, offset+limit) as text/plain; X-Total-Bytes and X-Next-Offset headers page through it',
    async handle({ params, query, deps }) {
      const r = deps.readModel.result(params.resultId);
      if (!r) throw notFound(`no result '${params.resultId}' in the read model (yet)`);
      const out = r[query.stream];
      const data = await outputRange(deps.nc, out, query.offset, query.limit);
      const next = query.offset + data.length;
      return new Reply(200, data, {
        'content-type': 'text/plain; charset=utf-8',
        'x-total-bytes': String(out.bytes),
        'x-offset': String(query.offset),
        ...(next < out.bytes ? { 'x-next-offset': String(next) } : {}),
      });
    },
  }),
]; // prettier-ignore
