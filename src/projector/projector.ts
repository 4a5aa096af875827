// The Projector: JetStream streams and the agents_state KV into the SQLite read model. It owns the
// database connection, one StreamConsumer per projected stream, the apply worker (a thread with
// its own connection that applies the consumers' batches), the agents watch, and two periodic
// jobs: the sweep (expired runs, presence events) and the retention sweep.
//
// Lifecycle: start() opens and migrates the database, then starts consuming; stop() stops
// consuming, commits the batch in hand, waits for the periodic jobs and closes the database. Both
// are idempotent. The NATS connection belongs to the caller.
import { mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { encodeObsEvent, obsSubject } from '../wire/index.js';
import { AgentsWatch } from './agents-watch.js';
import { BatchWorker } from './batch-worker.js';
import { acquireDbLock } from './db-lock.js';
import { openProjectionDb, type Db } from './db.js';
import {
  durableName,
  resolveProjectorOptions,
  type ProjectorOptions,
  type ResolvedProjectorOptions,
} from './options.js';
import { presenceEvents } from './presence.js';
import { PROJECTED_STREAMS, Projection } from './projection.js';
import { presenceQueries } from './queries-presence.js';
import { retentionSteps } from './retention.js';
import { StreamConsumer } from './stream-consumer.js';

export type ProjectorState = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

export type ProjectorStats = {
  streams: Record<string, { applied: number; errors: number; batches: number }>;
};

export class Projector {
  readonly options: ResolvedProjectorOptions;
  #state: ProjectorState = 'new';
  #db: Db | null = null;
  #projection: Projection | null = null;
  #consumers: StreamConsumer[] = [];
  #agents: AgentsWatch | null = null;
  #worker: BatchWorker | null = null;
  #timers: NodeJS.Timeout[] = [];
  #sweeping: Promise<void> | null = null;
  #retaining: Promise<void> | null = null;
  #starting: Promise<void> | null = null;
  #stopping: Promise<void> | null = null;
  #release: (() => void) | null = null;

  constructor(
    private readonly nc: NatsConnection,
    opts: ProjectorOptions,
  ) {
    this.options = resolveProjectorOptions(opts);
  }

  get state(): ProjectorState {
    return this.#state;
  }

  /** Opens the database and starts consuming. Idempotent; rejects when the projector was stopped. */
  start(): Promise<void> {
    if (this.#state === 'stopping' || this.#state === 'stopped') {
      return Promise.reject(new Error('a stopped projector cannot be started again; create a new one'));
    }
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    const o = this.options;
    this.#state = 'starting';
    mkdirSync(dirname(o.dbPath), { recursive: true });
    this.#release = acquireDbLock(o.dbPath);
    const db = openProjectionDb(o.dbPath);
    this.#db = db;
    const projection = new Projection(db);
    this.#projection = projection;
    projection.setMeta('heartbeat_ms', String(o.heartbeatMs));
    projection.setMeta('instance', o.instance);
    // The apply worker puts off recounts of busy executions; one that stopped before it made them
    // left counters behind.
    projection.recountOpen();
    // Stream batches and agents_state entries are applied by a worker thread with its own
    // connection, so decoding and writing overlap with receiving; this connection serves the
    // periodic sweeps and the reads of presence.
    const worker = new BatchWorker(o.dbPath, o.logger);
    this.#worker = worker;
    await worker.start();
    const js = jetstream(this.nc);
    const jsm = await jetstreamManager(this.nc);
    this.#consumers = PROJECTED_STREAMS.map(
      (stream) =>
        new StreamConsumer({
          js,
          jsm,
          stream,
          durable: durableName(o.instance, stream),
          batchSize: o.batchSize,
          flushAfterMs: o.flushAfterMs,
          ackWaitMs: o.ackWaitMs,
          apply: (batch) => worker.applyDecoded(batch),
          logger: o.logger,
        }),
    );
    this.#agents = new AgentsWatch(this.nc, (e) => worker.applyAgentEntry(e), o.logger);
    await Promise.all([...this.#consumers.map((c) => c.start()), this.#agents.start()]);
    this.#timers.push(setInterval(() => this.#tick('sweep'), o.sweepEveryMs));
    this.#timers.push(setInterval(() => this.#tick('retention'), o.retentionEveryMs));
    for (const t of this.#timers) t.unref();
    this.#state = 'running';
    o.logger.info({ db: o.dbPath, instance: o.instance }, 'projector started');
  }

  #tick(job: 'sweep' | 'retention'): void {
    if (this.#state !== 'running') return;
    if (job === 'sweep') this.#sweeping ??= this.sweep().finally(() => (this.#sweeping = null));
    else
      this.#retaining ??= this.retention()
        .then(() => undefined)
        .finally(() => (this.#retaining = null));
  }

  #live(): { db: Db; projection: Projection } {
    if (!this.#db || !this.#projection) throw new Error('the projector is not running');
    return { db: this.#db, projection: this.#projection };
  }

  /**
   * Marks expired runs and publishes presence events for agents whose presence changed. Runs
   * periodically; callable directly (tests, rebuild).
   */
  async sweep(): Promise<void> {
    const o = this.options;
    const { db, projection } = this.#live();
    const now = o.now();
    try {
      projection.sweepExpired(now);
      if (!o.emitPresence) return;
      const q = presenceQueries(db);
      const events = presenceEvents(q.sightings(), q.lastPresence(), now, o.heartbeatMs);
      const js = jetstream(this.nc);
      for (const ev of events) {
        await js.publish(obsSubject(ev.pcId), encodeObsEvent(ev), { msgID: ev.id });
        o.logger.info({ pcId: ev.pcId, kind: ev.kind, id: ev.id }, 'presence changed');
      }
    } catch (err) {
      o.logger.error({ err: (err as Error).message }, 'sweep failed; retrying at the next tick');
    }
  }

  /** Deletes rows older than `retentionDays`, in bounded transactions. Returns rows deleted per table. */
  async retention(): Promise<Record<string, number>> {
    const o = this.options;
    const { db } = this.#live();
    const cutoff = new Date(o.now() - o.retentionDays * 86_400_000).toISOString();
    const deleted: Record<string, number> = {};
    for (const step of retentionSteps(db)) {
      let total = 0;
      for (;;) {
        const n = db.transaction(() => step.run(cutoff, o.retentionBatch)).immediate();
        total += n;
        if (n < o.retentionBatch || this.#state !== 'running') break;
        // Let the consumers commit between retention batches.
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (total > 0) deleted[step.table] = total;
    }
    if (Object.keys(deleted).length > 0) o.logger.info({ cutoff, deleted }, 'retention sweep deleted rows');
    return deleted;
  }

  /**
   * True when every stream and the agents bucket have been applied up to their last message, and
   * every execution they touched is recounted.
   */
  async caughtUp(): Promise<boolean> {
    await this.#worker?.flushRecounts();
    const checks = await Promise.all([...this.#consumers.map((c) => c.caughtUp()), this.#agents!.caughtUp()]);
    return checks.every(Boolean);
  }

  stats(): ProjectorStats {
    return {
      streams: Object.fromEntries(this.#consumers.map((c, i) => [PROJECTED_STREAMS[i]!, { ...c.stats }])),
    };
  }

  /** Stops consuming, commits the batch in hand, closes the database. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    const prev = this.#state;
    this.#state = 'stopping';
    if (prev !== 'new') await this.#starting?.catch(() => undefined);
    for (const t of this.#timers) clearInterval(t);
    await Promise.all([this.#sweeping, this.#retaining]);
    await this.#agents?.stop();
    await Promise.all(this.#consumers.map((c) => c.stop()));
    await this.#worker?.stop();
    this.#db?.close();
    this.#db = null;
    this.#projection = null;
    this.#release?.();
    this.#state = 'stopped';
    this.options.logger.info({ db: this.options.dbPath }, 'projector stopped');
  }
}

/** Deletes the durable consumers of `instance`, so the next start replays every stream. */
export async function deleteDurables(jsm: JetStreamManager, instance: string): Promise<number> {
  let n = 0;
  for (const stream of PROJECTED_STREAMS) {
    const gone = await jsm.consumers.delete(stream, durableName(instance, stream)).catch(() => false);
    if (gone) n++;
  }
  return n;
}

/** Removes a database file and its WAL and shared-memory files. */
export function removeDbFiles(path: string): void {
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
}
