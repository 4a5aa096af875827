// The presence rule and the `agent_online`/`agent_offline` events the projector emits from
// heartbeats. Pure: given the agents' last heartbeat and the last presence event of each, it says
// which events to publish. Ids are deterministic, so two projectors (or one restarted) that see
// the same transition publish the same id, which JetStream and the writers deduplicate.
import type { ObsEventInput } from '../wire/index.js';

/** Heartbeats an agent may miss before it counts as offline. */
export const MISSED_HEARTBEATS = 3;

export type AgentSighting = { pcId: string; lastSeenAt: string; startedAt: string };
export type LastPresence = { kind: 'agent_online' | 'agent_offline'; id: string; at: string };

/** True when the last heartbeat is at most 3 intervals old at `nowMs`. */
export function isOnline(lastSeenAt: string, nowMs: number, heartbeatMs: number): boolean {
  return nowMs - Date.parse(lastSeenAt) <= MISSED_HEARTBEATS * heartbeatMs;
}

/**
 * The presence events to publish now:
 * - online, and no presence event yet: `agent_online`, id `presence.<pc>.online.start.<startedAt ms>`;
 * - online after an `agent_offline` with id X: `agent_online`, id `presence.<pc>.online.after.<X>`;
 * - offline (last heartbeat at T too old) after an `agent_online` or nothing: `agent_offline`,
 *   id `presence.<pc>.offline.<T ms>`, at T + 3 intervals (when it became offline).
 */
export function presenceEvents(
  agents: readonly AgentSighting[],
  last: ReadonlyMap<string, LastPresence>,
  nowMs: number,
  heartbeatMs: number,
): ObsEventInput[] {
  const out: ObsEventInput[] = [];
  for (const a of agents) {
    const prev = last.get(a.pcId);
    const seenMs = Date.parse(a.lastSeenAt);
    if (isOnline(a.lastSeenAt, nowMs, heartbeatMs)) {
      if (prev?.kind === 'agent_online') continue;
      const id =
        prev === undefined
          ? `presence.${a.pcId}.online.start.${Date.parse(a.startedAt)}`
          : `presence.${a.pcId}.online.after.${prev.id}`;
      // Never before the offline event it closes, even with a skewed agent clock.
      const atMs = prev === undefined ? seenMs : Math.max(seenMs, Date.parse(prev.at) + 1);
      out.push({
        v: 1,
        id,
        pcId: a.pcId,
        at: new Date(atMs).toISOString(),
        kind: 'agent_online',
        source: 'platform',
        payload: { lastSeenAt: a.lastSeenAt, startedAt: a.startedAt },
      });
    } else {
      if (prev?.kind === 'agent_offline') continue;
      out.push({
        v: 1,
        id: `presence.${a.pcId}.offline.${seenMs}`,
        pcId: a.pcId,
        at: new Date(seenMs + MISSED_HEARTBEATS * heartbeatMs).toISOString(),
        kind: 'agent_offline',
        source: 'platform',
        payload: { lastSeenAt: a.lastSeenAt, missedHeartbeats: MISSED_HEARTBEATS, heartbeatMs },
      });
    }
  }
  return out;
}
