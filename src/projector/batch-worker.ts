// The main thread's side of the apply worker (apply-worker.ts): starts it, sends it batches and
// agents_state entries, resolves each with the worker's answer, and stops it. A batch is decoded
// here (decode.ts, decoded-batch.ts) and sent as what it writes, the column values; the worker
// only writes. All projection writes but the periodic sweeps go through it, so the main thread
// never waits for the database's write lock while the worker holds it. A worker that dies fails
// the batches it had in hand (the stream consumer naks them for redelivery) and the next apply
// starts a new one.
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { ApplyReply, ApplyRequest, ApplyWorkerData } from './apply-worker.js';
import type { ProjectorLogger } from './options.js';
import { decodeRawBatch, type DecodedBatch } from './decoded-batch.js';
import type { AgentEntry, BatchOutcome, RawMessage } from './projection.js';

/** How long stop() waits for the worker to close its database and exit before terminating it. */
const STOP_TIMEOUT_MS = 10_000;

/** A batch the worker did not commit (a storage error, or the worker died). */
export class BatchApplyError extends Error {
  override name = 'BatchApplyError';
}

type Pending = { resolve: (r: ApplyReply) => void; reject: (err: Error) => void };

export class BatchWorker {
  #worker: Worker | null = null;
  #starting: Promise<Worker> | null = null;
  #pending = new Map<number, Pending>();
  #nextId = 0;
  #stopped = false;

  constructor(
    private readonly dbPath: string,
    private readonly logger: ProjectorLogger,
  ) {}

  /** Starts the worker and waits until its database is open. */
  async start(): Promise<void> {
    await this.#spawn();
  }

  #spawn(): Promise<Worker> {
    if (this.#starting) return this.#starting;
    const workerData: ApplyWorkerData = { dbPath: this.dbPath };
    const w = new Worker(new URL('./apply-worker.js', import.meta.url), { workerData });
    const starting = new Promise<Worker>((resolve, reject) => {
      let ready = false;
      w.on('message', (r: ApplyReply) => {
        if ('ready' in r) {
          ready = true;
          this.#worker = w;
          resolve(w);
          return;
        }
        const p = this.#pending.get(r.id);
        this.#pending.delete(r.id);
        p?.resolve(r);
      });
      w.on('error', (err) => {
        if (!ready)
          reject(new BatchApplyError(`apply worker failed to start: ${err.message}`, { cause: err }));
        else this.logger.error({ err: err.message }, 'apply worker failed');
      });
      w.on('exit', (code) => {
        if (this.#worker === w) this.#worker = null;
        if (this.#starting === starting) this.#starting = null;
        if (!ready) reject(new BatchApplyError(`apply worker exited with code ${code} before it was ready`));
        const failed = new BatchApplyError(`apply worker exited with code ${code}`);
        for (const p of this.#pending.values()) p.reject(failed);
        this.#pending.clear();
      });
    });
    this.#starting = starting;
    return starting;
  }

  #request(w: Worker, req: ApplyRequest, transfer: ArrayBuffer[] = []): Promise<ApplyReply> {
    return new Promise((resolve, reject) => {
      this.#pending.set(req.id, { resolve, reject });
      w.postMessage(req, transfer);
    });
  }

  /** Decodes a batch (not empty) and applies it; see applyDecoded. */
  apply(batch: readonly RawMessage[]): Promise<BatchOutcome> {
    return this.applyDecoded(decodeRawBatch(batch));
  }

  /** Applies and commits a decoded batch in the worker; rejects with BatchApplyError when not committed. */
  async applyDecoded(batch: DecodedBatch): Promise<BatchOutcome> {
    if (this.#stopped) throw new BatchApplyError('the apply worker is stopped');
    const w = this.#worker ?? (await this.#spawn());
    const r = await this.#request(w, { id: this.#nextId++, batch });
    if ('applied' in r) return { applied: r.applied, errors: r.errors };
    if ('error' in r) throw new BatchApplyError(r.code ? `${r.code}: ${r.error}` : r.error);
    throw new BatchApplyError('unexpected answer from the apply worker');
  }

  /** Applies one agents_state entry in the worker; rejects with BatchApplyError when not committed. */
  async applyAgentEntry(e: AgentEntry): Promise<void> {
    if (this.#stopped) throw new BatchApplyError('the apply worker is stopped');
    const w = this.#worker ?? (await this.#spawn());
    const r = await this.#request(w, { id: this.#nextId++, agent: e });
    if ('error' in r) throw new BatchApplyError(r.code ? `${r.code}: ${r.error}` : r.error);
  }

  /** Recounts the executions whose recount the worker put off; resolves with how many. */
  async flushRecounts(): Promise<number> {
    if (this.#stopped || !this.#worker) return 0;
    const r = await this.#request(this.#worker, { id: this.#nextId++, flush: true });
    return 'flushed' in r ? r.flushed : 0;
  }

  /** Closes the worker's database and ends it. Call after the last apply has settled. Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    const w = this.#worker ?? (await this.#starting?.catch(() => null));
    if (!w) return;
    const exited = once(w, 'exit');
    const timer = setTimeout(() => void w.terminate(), STOP_TIMEOUT_MS);
    try {
      await this.#request(w, { id: this.#nextId++, close: true }).catch(() => undefined);
      await exited;
    } finally {
      clearTimeout(timer);
    }
  }
}
