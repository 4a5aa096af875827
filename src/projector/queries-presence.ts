// SQL the presence check reads: every agent's last heartbeat, and each pc's latest presence event,
// whether the platform emitted it (missed heartbeats) or the agent did (clean start and stop), so
// the two sources never report the same transition twice.
import type { Db } from './db.js';
import type { AgentSighting, LastPresence } from './presence.js';

export type PresenceQueries = {
  sightings(): AgentSighting[];
  lastPresence(): Map<string, LastPresence>;
};

export function presenceQueries(db: Db): PresenceQueries {
  const sightings = db.prepare(
    'SELECT pc_id AS pcId, last_seen_at AS lastSeenAt, started_at AS startedAt FROM agents ORDER BY pc_id',
  );
  const last = db.prepare(`
    SELECT pc_id AS pcId, kind, id, at FROM (
      SELECT pc_id, kind, id, at,
        ROW_NUMBER() OVER (PARTITION BY pc_id ORDER BY at DESC, stream_seq DESC) AS n
      FROM obs_events
      WHERE source IN ('platform', 'agent') AND kind IN ('agent_online', 'agent_offline')
    ) WHERE n = 1`);
  return {
    sightings: () => sightings.all() as AgentSighting[],
    lastPresence: () =>
      new Map((last.all() as (LastPresence & { pcId: string })[]).map(({ pcId, ...p }) => [pcId, p])),
  };
}
