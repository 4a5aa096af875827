// SQL of the `agents` table, the projection of the `agents_state` KV bucket: one row per pc,
// replaced only by a newer KV revision, removed when the key is deleted.
import type { AgentState } from '../wire/index.js';
import type { Db } from './db.js';
import { iso } from './values.js';

export type AgentWriter = {
  put(state: AgentState, kvRevision: number): void;
  remove(pcId: string): void;
};

export function agentWriter(db: Db): AgentWriter {
  const upsert = db.prepare(`
    INSERT INTO agents (pc_id, kv_revision, hostname, os, arch, agent_version, groups, started_at, last_seen_at, running)
    VALUES (@pcId, @rev, @hostname, @os, @arch, @agentVersion, @groups, @startedAt, @lastSeenAt, @running)
    ON CONFLICT (pc_id) DO UPDATE SET
      kv_revision = excluded.kv_revision, hostname = excluded.hostname, os = excluded.os, arch = excluded.arch,
      agent_version = excluded.agent_version, groups = excluded.groups, started_at = excluded.started_at,
      last_seen_at = excluded.last_seen_at, running = excluded.running
    WHERE excluded.kv_revision > agents.kv_revision`);
  const del = db.prepare('DELETE FROM agents WHERE pc_id = ?');
  return {
    put(s, rev) {
      upsert.run({
        pcId: s.pcId,
        rev,
        hostname: s.hostname,
        os: s.os,
        arch: s.arch,
        agentVersion: s.agentVersion,
        groups: JSON.stringify([...s.groups].sort()),
        startedAt: iso(s.startedAt),
        lastSeenAt: iso(s.lastSeenAt),
        running: JSON.stringify(s.running),
      });
    },
    remove(pcId) {
      del.run(pcId);
    },
  };
}
