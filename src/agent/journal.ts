// The agent's on-disk record of the requests it accepted, written before the delivery is acked,
// so a request runs at most once: after a crash, a request that had started is reported as
// `error/agent_restarted` (never silently rerun) and one that had not started is run now. A job
// that declares `retry` moves its entry back to `accepted` with the next attempt number and the
// time it may start, once the previous attempt's result is in the outbox.
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ExecRequest } from '../wire/index.js';
import { removeDurable, writeFileDurable } from './durable-file.js';

export const JournalEntry = z.object({
  request: ExecRequest,
  state: z.enum(['accepted', 'started', 'finished']),
  acceptedAt: z.string(),
  startedAt: z.string().optional(),
  /** Process group of the running script, to end orphans after an agent crash. */
  pid: z.int().optional(),
  finishedAt: z.string().optional(),
  /** The attempt this entry is about, from 1 (retries, docs/manifests.md). */
  attempt: z.int().min(1).default(1),
  /** An accepted retry starts no earlier than this. */
  notBefore: z.string().optional(),
});
export type JournalEntry = z.infer<typeof JournalEntry>;
/** What put() takes: `attempt` may be left out (1). */
export type JournalEntryInput = z.input<typeof JournalEntry>;

/** Finished entries are kept this long so a late redelivery is recognised and not rerun. */
export const FINISHED_RETENTION_MS = 24 * 60 * 60 * 1000;

export class Journal {
  /** The last write queued per request: writes of one entry land in the order they were asked. */
  readonly #writes = new Map<string, Promise<void>>();

  constructor(private readonly dir: string) {}

  #serial(requestId: string, write: () => Promise<void>): Promise<void> {
    const prev = this.#writes.get(requestId) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(write);
    this.#writes.set(requestId, next);
    const forget = () => {
      if (this.#writes.get(requestId) === next) this.#writes.delete(requestId);
    };
    next.then(forget, forget);
    return next;
  }

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  #path(requestId: string): string {
    return join(this.dir, `${requestId}.json`);
  }

  async get(requestId: string): Promise<JournalEntry | null> {
    try {
      return JournalEntry.parse(JSON.parse(await readFile(this.#path(requestId), 'utf8')));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new Error(`journal entry ${this.#path(requestId)} is unreadable: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /**
   * Writes an entry. Writes of the same request are serialised: the entry a crash leaves behind is
   * the one last asked for (the pid noted at spawn cannot land after the `finished` state).
   */
  put(entry: JournalEntryInput): Promise<void> {
    const data = JSON.stringify(entry);
    return this.#serial(entry.request.requestId, () =>
      writeFileDurable(this.#path(entry.request.requestId), data),
    );
  }

  remove(requestId: string): Promise<void> {
    return this.#serial(requestId, () => removeDurable(this.#path(requestId)));
  }

  /** Every entry; unreadable files are returned separately (the caller reports them). */
  async all(): Promise<{ entries: JournalEntry[]; unreadable: string[] }> {
    const entries: JournalEntry[] = [];
    const unreadable: string[] = [];
    for (const f of (await readdir(this.dir)).sort()) {
      if (!f.endsWith('.json')) continue;
      try {
        entries.push(JournalEntry.parse(JSON.parse(await readFile(join(this.dir, f), 'utf8'))));
      } catch {
        unreadable.push(join(this.dir, f));
      }
    }
    return { entries, unreadable };
  }
}
