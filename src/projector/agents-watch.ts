// Watches the `agents_state` KV bucket into the `agents` table. A KV watch is not durable: on start
// it replays the latest value of every key, which the revision-guarded upsert makes idempotent.
// Entries are handed to the apply worker without waiting for each (up to MAX_IN_FLIGHT), so the
// worker can commit the ones that queued up together: 10,000 agents heartbeating every 15 s are
// 667 puts a second, too many for a commit each.
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { BUCKETS, kvStreamName } from '../kv/index.js';
import type { ProjectorLogger } from './options.js';
import type { AgentEntry } from './projection.js';

/** Entries handed to the apply worker and not answered yet. */
const MAX_IN_FLIGHT = 256;

export class AgentsWatch {
  #iter: Awaited<ReturnType<KV['watch']>> | null = null;
  #loop: Promise<void> | null = null;
  #lastRevision = 0;

  constructor(
    private readonly nc: NatsConnection,
    /** Applies one entry (Projection.applyAgentEntry, in the apply worker). */
    private readonly apply: (e: AgentEntry) => Promise<void>,
    private readonly logger: ProjectorLogger,
  ) {}

  async start(): Promise<void> {
    if (this.#loop) return;
    const kv = await new Kvm(this.nc).open(BUCKETS.agentsState);
    const iter = await kv.watch({ key: '>' });
    this.#iter = iter;
    this.#loop = (async () => {
      const inFlight = new Set<Promise<void>>();
      for await (const e of iter) {
        const applied: Promise<void> = this.apply({
          key: e.key,
          revision: e.revision,
          value: e.operation === 'PUT' ? e.value : null,
          at: e.created.toISOString(),
        })
          .catch((err: unknown) => {
            // Storage trouble: the next put of this key (every heartbeat) brings it up to date.
            this.logger.error({ key: e.key, err: (err as Error).message }, 'cannot project agent state');
          })
          .finally(() => {
            this.#lastRevision = Math.max(this.#lastRevision, e.revision);
            inFlight.delete(applied);
          });
        inFlight.add(applied);
        if (inFlight.size >= MAX_IN_FLIGHT) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
    })();
  }

  /** True when every revision the bucket holds has been applied. */
  async caughtUp(): Promise<boolean> {
    const jsm = await jetstreamManager(this.nc);
    const info = await jsm.streams.info(kvStreamName(BUCKETS.agentsState));
    return this.#lastRevision >= info.state.last_seq || info.state.messages === 0;
  }

  async stop(): Promise<void> {
    this.#iter?.stop();
    await this.#loop;
  }
}
