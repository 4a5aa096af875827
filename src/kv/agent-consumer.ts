// The agent's one durable pull consumer on EXEC, filtered to exec.all, its own exec.pc.<pc> and
// its groups' subjects. Filters follow group changes by updating the consumer in place, so the
// consumer keeps its position and nothing is delivered twice. The platform owns it: enrollment
// creates it and every group change (AgentDirectory.setGroups) updates it, because an agent that
// could change its own filters could read another pc's requests (docs/security.md). An agent
// without an identity of its own (a test or open server) still creates it itself.
import { AckPolicy, DeliverPolicy, JetStreamApiError, type JetStreamManager } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { execSubject } from '../wire/index.js';
import { STREAMS } from './names.js';

export const consumerName = (pcId: string): string => `agent-${pcId}`;

export function filterSubjects(pcId: string, groups: readonly string[]): string[] {
  return [
    execSubject({ kind: 'all' }),
    execSubject({ kind: 'pc', pcId }),
    ...[...new Set(groups)].sort().map((group) => execSubject({ kind: 'group', group })),
  ];
}

/** Creates the consumer, or updates its filters when they differ. Returns the filters in force. */
export async function ensureExecConsumer(
  jsm: JetStreamManager,
  pcId: string,
  groups: readonly string[],
): Promise<string[]> {
  const name = consumerName(pcId);
  const filters = filterSubjects(pcId, groups);
  try {
    const info = await jsm.consumers.info(STREAMS.exec, name);
    const have =
      info.config.filter_subjects ?? (info.config.filter_subject ? [info.config.filter_subject] : []);
    if (JSON.stringify([...have].sort()) !== JSON.stringify([...filters].sort())) {
      await jsm.consumers.update(STREAMS.exec, name, { filter_subjects: filters });
    }
    return filters;
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.status === 404)) throw err;
  }
  await jsm.consumers.add(STREAMS.exec, {
    durable_name: name,
    // A new agent starts with requests published from now on; from then on its durable
    // position makes it catch up on everything it missed while offline.
    deliver_policy: DeliverPolicy.New,
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(60_000),
    max_ack_pending: 64,
    filter_subjects: filters,
    description: `baton agent ${pcId}`,
  });
  return filters;
}
