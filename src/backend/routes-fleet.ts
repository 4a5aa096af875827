// The fleet: agents (paged, filtered), one agent with groups and effective config, group
// memberships, layered config per scope, an endpoint's timeline and its inventory.
import { z } from 'zod';
import {
  AGENT_CONFIG_DEFAULTS,
  AgentConfigLayer,
  GroupName,
  PcId,
  CONFIG_SCOPE_RULE,
  parseConfigScope,
  scopeKey,
  type AgentConfigKey,
  type ConfigScope,
} from '../wire/index.js';
import { AgentConfigStore, AgentDirectory, publishAudit } from '../kv/index.js';
import { api, apiMeta, type BackendDeps } from './deps.js';
import { badRequest, notFound, parseOr400, queryInt, type Route } from './http.js';
import { Since } from './routes-runs.js';

const Pc = z.object({ pc: PcId });

const AgentsQuery = z.object({
  status: z.enum(['online', 'offline']).optional(),
  group: GroupName.optional(),
  /** Substring of the pc id or host name, case-insensitive. */
  q: z.string().max(200).optional(),
  offset: queryInt(0, 10_000_000, 0),
  limit: queryInt(1, 1000, 100),
});

/** `global`, `group:<name>` or `pc:<id>`. */
export const Scope = z.string().transform((raw, ctx): ConfigScope => {
  const scope = parseConfigScope(raw);
  if (scope) return scope;
  ctx.addIssue({ code: 'custom', message: `'${raw}' is not a scope; ${CONFIG_SCOPE_RULE}` });
  return z.NEVER;
});

const KEYS = Object.keys(AGENT_CONFIG_DEFAULTS) as AgentConfigKey[];

const ConfigEdit = z.strictObject({
  /** Keys to set, typed as the layer expects (`concurrency: 8`, `heartbeat_interval: "30s"`). */
  set: z.record(z.string(), z.unknown()).default({}),
  /** Keys to remove from the layer. */
  unset: z.array(z.enum(KEYS as [AgentConfigKey, ...AgentConfigKey[]])).default([]),
});

const Events = z.object({
  since: Since.optional(),
  until: Since.optional(),
  /** Comma-separated kinds: `agent_online,run_finished`. */
  kind: z.string().max(1000).optional(),
  limit: queryInt(1, 5000, 500),
});

const InventoryQuery = z.object({
  /** Snapshots per source in the change history, newest kept. */
  limit: queryInt(1, 500, 20),
});

/** Most rows read from the timeline to answer a bounded `until` window. */
const TIMELINE_SCAN = 20_000;

export const fleetRoutes: Route<BackendDeps>[] = [
  api({
    method: 'GET', path: '/api/agents', role: 'viewer', tag: 'agents', query: AgentsQuery,
    summary: 'agents with presence, version and groups; filtered, paged by offset/limit, with the total',
    async handle({ query, deps }) {
      const q = query.q?.toLowerCase();
      const all = deps.readModel.agents(Date.now());
      const rows = all.filter((a) =>
        (query.status === undefined || a.online === (query.status === 'online')) &&
        (query.group === undefined || a.groups.includes(query.group)) &&
        (q === undefined || a.pcId.toLowerCase().includes(q) || a.hostname.toLowerCase().includes(q)));
      const online = all.filter((a) => a.online).length;
      return { total: rows.length, offset: query.offset, limit: query.limit, counts: { online, offline: all.length - online }, items: rows.slice(query.offset, query.offset + query.limit) };
    },
  }),
  api({
    method: 'GET', path: '/api/agents/:pc', role: 'viewer', tag: 'agents', params: Pc,
    summary: 'one agent: state (from the read model), groups and effective config with the layer of each value',
    async handle({ params, deps }) {
      const agent = deps.readModel.agent(params.pc, Date.now()) ?? null;
      const groups = await (await AgentDirectory.open(deps.nc)).groupsOf(params.pc);
      if (!agent && groups.revision === null) throw notFound(`no agent '${params.pc}'`);
      const eff = await (await AgentConfigStore.open(deps.nc)).effective(params.pc, groups.groups);
      return { pcId: params.pc, agent, groups, config: { values: eff.values, sources: eff.sources, invalid: eff.invalid } };
    },
  }),
  api({
    method: 'GET', path: '/api/groups', role: 'viewer', tag: 'agents', summary: 'every pc with a group membership entry',
    async handle({ deps }) {
      const all = await (await AgentDirectory.open(deps.nc)).allGroups();
      return { items: [...all.entries()].map(([pcId, groups]) => ({ pcId, groups })).sort((a, b) => a.pcId.localeCompare(b.pcId)) };
    },
  }),
  api({
    method: 'PUT', path: '/api/groups/:pc', role: 'operator', tag: 'agents', params: Pc,
    body: z.strictObject({ groups: z.array(GroupName).max(100), baseRevision: z.int().positive().nullable().optional() }),
    summary: 'set the groups of a pc (replaces them); compare-and-swap when baseRevision is given (receipt group.set)',
    async handle({ params, body, deps, caller }) {
      const dir = await AgentDirectory.open(deps.nc);
      const before = await dir.groupsOf(params.pc);
      const base = body.baseRevision === undefined ? before.revision : body.baseRevision;
      const after = await dir.setGroups(params.pc, body.groups, base);
      const sorted = [...new Set(body.groups)].sort();
      const receipt = await publishAudit(deps.nc, {
        ...apiMeta(caller), action: 'group.set', target: { kind: 'pc', id: params.pc },
        revisionBefore: base, revisionAfter: after,
        summary: `set groups of ${params.pc}: [${before.groups.join(', ')}] -> [${sorted.join(', ')}]`.slice(0, 300),
        details: { before: before.groups, after: sorted },
      });
      return { pcId: params.pc, groups: sorted, revision: after, receiptId: receipt.id };
    },
  }),
  api({
    method: 'GET', path: '/api/config/:scope', role: 'viewer', tag: 'agents', params: z.object({ scope: Scope }),
    summary: 'the keys set in one config layer (scope global, group:<g> or pc:<id>)',
    async handle({ params, deps }) {
      const key = scopeKey(params.scope);
      const { layer, revision } = await (await AgentConfigStore.open(deps.nc)).layer(key);
      return { scope: key, layer, revision, keys: AGENT_CONFIG_DEFAULTS };
    },
  }),
  api({
    method: 'PUT', path: '/api/config/:scope', role: 'admin', tag: 'agents', params: z.object({ scope: Scope }), body: ConfigEdit,
    summary: 'set and unset keys of one config layer; agents apply it live (receipt config.set)',
    async handle({ params, body, deps, caller }) {
      const set = parseOr400(AgentConfigLayer, body.set, 'body.set');
      const changes: Partial<Record<AgentConfigKey, unknown>> = { ...set };
      for (const k of body.unset) {
        if (k in set) throw badRequest(`'${k}' is both set and unset`, { issues: [{ path: `body.unset`, message: `'${k}' is also in set` }] });
        changes[k] = undefined;
      }
      if (Object.keys(changes).length === 0) throw badRequest('nothing to change: give set or unset', { issues: [{ path: 'body', message: 'set and unset are both empty' }] });
      const key = scopeKey(params.scope);
      const store = await AgentConfigStore.open(deps.nc);
      const [before, after] = await store.update(key, changes);
      const receipt = await publishAudit(deps.nc, {
        ...apiMeta(caller), action: 'config.set', target: { kind: 'config', id: key }, revisionBefore: before, revisionAfter: after,
        summary: `set ${[...Object.entries(set).map(([k, v]) => `${k}=${String(v)}`), ...body.unset.map((k) => `${k}=`)].join(' ')} in ${key}`.slice(0, 300),
        details: { changes: Object.fromEntries(Object.entries(changes).map(([k, v]) => [k, v === undefined ? null : (v as string | number | boolean)])) },
      });
      return { scope: key, layer: (await store.layer(key)).layer, revision: after, receiptId: receipt.id };
    },
  }),
  api({
    method: 'GET', path: '/api/inventory/:pc', role: 'viewer', tag: 'agents', params: Pc, query: InventoryQuery,
    summary: "an endpoint's latest inventory snapshot per source, and the field changes between its newest `limit` snapshots per source (oldest first)",
    async handle({ params, query, deps }) {
      return { pcId: params.pc, latest: deps.readModel.inventory(params.pc), history: deps.readModel.inventoryHistory(params.pc, { limit: query.limit }) };
    },
  }),
  api({
    method: 'GET', path: '/api/events/:pc', role: 'viewer', tag: 'agents', params: Pc, query: Events,
    summary: "an endpoint's timeline between since and until, oldest first: presence, run lifecycle, finished runs, job-emitted events",
    async handle({ params, query, deps }) {
      const kinds = query.kind?.split(',').map((k) => k.trim()).filter(Boolean);
      const bounded = query.until !== undefined;
      let items = deps.readModel.timeline(params.pc, {
        ...(query.since ? { since: query.since } : {}), ...(kinds?.length ? { kinds } : {}), limit: bounded ? TIMELINE_SCAN : query.limit,
      });
      if (bounded) items = items.filter((e) => e.at <= query.until!).slice(-query.limit);
      return { pcId: params.pc, since: query.since ?? null, until: query.until ?? null, items };
    },
  }),
]; // prettier-ignore
