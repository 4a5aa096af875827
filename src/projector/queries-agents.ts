// SQL of the agents queries. Online/offline is decided at read time by the presence rule
// (presence.ts) with the heartbeat interval the projector recorded in projector_meta.
import type { Db } from './db.js';
import { isOnline } from './presence.js';

export const DEFAULT_HEARTBEAT_MS = 15_000;

export type AgentRow = {
  pcId: string;
  online: boolean;
  hostname: string;
  os: string;
  arch: string;
  agentVersion: string;
  groups: string[];
  startedAt: string;
  lastSeenAt: string;
  running: unknown[];
};

type DbAgent = {
  pcId: string;
  hostname: string;
  os: string;
  arch: string;
  agentVersion: string;
  groups: string;
  startedAt: string;
  lastSeenAt: string;
  running: string;
};

export type AgentQueries = {
  list(nowMs: number): AgentRow[];
  get(pcId: string, nowMs: number): AgentRow | undefined;
  heartbeatMs(): number;
};

export function agentQueries(db: Db): AgentQueries {
  const cols = `pc_id AS pcId, hostname, os, arch, agent_version AS agentVersion, groups,
    started_at AS startedAt, last_seen_at AS lastSeenAt, running`;
  const list = db.prepare(`SELECT ${cols} FROM agents ORDER BY pc_id`);
  const get = db.prepare(`SELECT ${cols} FROM agents WHERE pc_id = ?`);
  const meta = db.prepare("SELECT value FROM projector_meta WHERE key = 'heartbeat_ms'");
  const heartbeatMs = () =>
    Number((meta.get() as { value: string } | undefined)?.value ?? DEFAULT_HEARTBEAT_MS);
  const toRow = (a: DbAgent, nowMs: number, hb: number): AgentRow => ({
    ...a,
    online: isOnline(a.lastSeenAt, nowMs, hb),
    groups: JSON.parse(a.groups) as string[],
    running: JSON.parse(a.running) as unknown[],
  });
  return {
    heartbeatMs,
    list(nowMs) {
      const hb = heartbeatMs();
      return (list.all() as DbAgent[]).map((a) => toRow(a, nowMs, hb));
    },
    get(pcId, nowMs) {
      const a = get.get(pcId) as DbAgent | undefined;
      return a && toRow(a, nowMs, heartbeatMs());
    },
  };
}
