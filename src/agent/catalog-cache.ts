// The catalog values the skip checks read before every run: a job's `script_status` (ACTIVE or
// REVOKED) and its pinned version in `script_current`. Reading them is two KV direct gets per run,
// each a request; they change only when an operator edits or revokes a job. So a value is read
// once and kept until a core subscription on the bucket's subjects (`$KV.<bucket>.>`) sees any
// write to it: every KV put, delete and purge is published there.
//
// Staying correct: a value is kept only while the subscriptions are known to work (confirmed by
// a flush at start; an identity whose permissions predate them is refused, and every check reads
// the server as before). A write that lands while a read is in flight discards that read's answer
// (a generation counter), so an old answer never outlives a newer write. A subscription misses what
// changed while the connection was down: every value is forgotten on disconnect and reconnect.
// One cache may serve every agent on one connection (the fleet simulator); an agent makes its own
// otherwise.
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { Kvm, type KV } from '@nats-io/kv';
import { BUCKETS } from '../kv/index.js';
import type { Logger } from '../shared/logger.js';

/** A key's value: the string of its last PUT, or null (no such key, deleted or purged). */
type Value = string | null;

class KeyCache {
  readonly #values = new Map<string, Value>();
  #generation = 0;

  constructor(
    private readonly kv: KV,
    private readonly live: () => boolean,
  ) {}

  forget(): void {
    this.#values.clear();
    this.#generation++;
  }

  async get(key: string): Promise<Value> {
    const live = this.live();
    if (live) {
      const known = this.#values.get(key);
      if (known !== undefined) return known;
    }
    const generation = this.#generation;
    const entry = await this.kv.get(key);
    const value = entry?.operation === 'PUT' ? entry.string() : null;
    if (live && this.live() && generation === this.#generation) this.#values.set(key, value);
    return value;
  }
}

export class CatalogCache {
  readonly #status: KeyCache;
  readonly #pins: KeyCache;
  #subs: Subscription[] = [];
  #live = false;
  #statusIter: (AsyncIterable<{ type: string }> & { stop?: () => void }) | null = null;
  #watching: Promise<void> | null = null;

  private constructor(
    private readonly nc: NatsConnection,
    status: KV,
    pins: KV,
    private readonly log: Logger,
  ) {
    this.#status = new KeyCache(status, () => this.#live);
    this.#pins = new KeyCache(pins, () => this.#live);
  }

  /**
   * Opens the two buckets (key-scoped direct gets: all an enrolled agent may do) and subscribes to
   * their changes. Values are cached only if the subscriptions are allowed.
   */
  static async open(nc: NatsConnection, log: Logger): Promise<CatalogCache> {
    const kvm = new Kvm(nc);
    const cache = new CatalogCache(
      nc,
      await kvm.open(BUCKETS.scriptStatus, { allow_direct: true }),
      await kvm.open(BUCKETS.scriptCurrent, { allow_direct: true }),
      log,
    );
    await cache.#start();
    return cache;
  }

  /** `script_status` of a job: `ACTIVE`, `REVOKED`, or null when the job has none. */
  status(jobId: string): Promise<Value> {
    return this.#status.get(jobId);
  }

  /** `script_current` of a job: the version that may run, or null when none is pinned. */
  pin(jobId: string): Promise<Value> {
    return this.#pins.get(jobId);
  }

  #forget(): void {
    this.#status.forget();
    this.#pins.forget();
  }

  async #start(): Promise<void> {
    let refused = false;
    const watch = (bucket: string, cache: KeyCache) =>
      this.nc.subscribe(`$KV.${bucket}.>`, {
        callback: (err) => {
          if (err) {
            // Not allowed (credentials issued before the cache existed) or closed: read every time.
            refused = true;
            this.#live = false;
            this.#forget();
            this.log.info({ err: err.message, bucket }, 'catalog changes not visible; reading on every run');
            return;
          }
          cache.forget();
        },
      });
    this.#subs = [watch(BUCKETS.scriptStatus, this.#status), watch(BUCKETS.scriptCurrent, this.#pins)];
    // A refused subscription is answered before the flush's PONG.
    await this.nc.flush();
    this.#live = !refused;
    const status = this.nc.status() as AsyncIterable<{ type: string }> & { stop?: () => void };
    this.#statusIter = status;
    this.#watching = (async () => {
      for await (const s of status) {
        if (s.type !== 'disconnect' && s.type !== 'reconnect') continue;
        this.#forget();
      }
    })();
  }

  /** Unsubscribes. Idempotent. */
  async stop(): Promise<void> {
    this.#live = false;
    for (const s of this.#subs) if (!s.isClosed()) s.unsubscribe();
    this.#subs = [];
    this.#statusIter?.stop?.();
    await this.#watching?.catch(() => undefined);
  }
}
