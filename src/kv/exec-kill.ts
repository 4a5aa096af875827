// Killing an execution: the one path shared by `baton kill` and the API. A kill command goes to
// every agent (`ctl.all.kill`); each running one answers how many of its scripts it ended. No
// agent listening is an answer too (zero replies), not an error: NATS reports it as "no responders".
import { NoRespondersError, type NatsConnection } from '@nats-io/transport-node';
import { ctlSubject, encodeKillCommand } from '../wire/index.js';

/** How long to collect agents' replies. */
export const KILL_REPLY_WAIT_MS = 1_500;

export type KillReply = { pcId: string; killed: number };

/** Sends the kill of `execId` to every agent; returns the replies that came within the wait. */
export async function requestKill(nc: NatsConnection, execId: string): Promise<KillReply[]> {
  // Validates the exec id (a subject token): a WireError for anything an agent could not match.
  const command = encodeKillCommand({ execId });
  const replies: KillReply[] = [];
  try {
    const iter = await nc.requestMany(ctlSubject({ kind: 'all' }, 'kill'), command, {
      maxWait: KILL_REPLY_WAIT_MS,
    });
    for await (const m of iter) {
      try {
        const r = m.json<{ pcId?: unknown; killed?: unknown }>();
        if (typeof r.pcId === 'string' && typeof r.killed === 'number')
          replies.push({ pcId: r.pcId, killed: r.killed });
      } catch {
        // a reply that is not JSON is not from an agent
      }
    }
  } catch (err) {
    if (!(err instanceof NoRespondersError)) throw err;
  }
  return replies;
}
