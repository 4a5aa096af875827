// The agent's on-disk record of the requests it accepted, written before the delivery is acked,
// so a request runs at most once: after a crash, a request that had started is reported as
// `error/agent_restarted` (never silently rerun) and one that had not started is run now. A job
// that declares `retry` moves its entry back to `accepted` with the next attempt number and the
// time it may start, once the previous attempt's result is in the outbox.
//
// One file per request, `<request-id>.json`: the first line is the whole entry, written
// atomically (temp file, fsync, rename, folder fsync); each later step of the same attempt
// (started, the script's pid, finished) is appended as a line with the fields it changes,
// synced with fdatasync and no folder sync (no directory entry changes). The entry is the first
// line with the later ones applied in order. A crash can tear only the last append, whose step
// then never happened (the agent waits for the sync before it acts on it): a line that does not
// parse is skipped.
//
// The agent owns its folder: entries are kept in memory from start (the index of files, and the
// entries not finished yet), so the hot path reads nothing back from disk.
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ExecRequest } from '../wire/index.js';
import { appendFileDurable, removeDurable, writeFileDurable } from './durable-file.js';

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
/** What put() takes: a parsed request; `attempt` may be left out (1). */
export type JournalEntryInput = Omit<JournalEntry, 'attempt'> & { attempt?: number };
/** A later step of the same attempt: what update() appends. */
export type JournalUpdate = Partial<
  Pick<JournalEntry, 'state' | 'attempt' | 'startedAt' | 'pid' | 'finishedAt'>
>;

/** Finished entries are kept this long so a late redelivery is recognised and not rerun. */
export const FINISHED_RETENTION_MS = 24 * 60 * 60 * 1000;

export class Journal {
  /** The last write queued per request: writes of one entry land in the order they were asked. */
  readonly #writes = new Map<string, Promise<void>>();
  /**
   * Every entry on disk by request id: the entry itself while it is not finished, the time it
   * finished (ms) once it is (the entry is read from disk when asked for: only a late redelivery
   * does), or null when listed at start and not read yet. pruneFinished() forgets finished entries
   * after the redelivery window, so the map and the folder stay bounded.
   */
  readonly #entries = new Map<string, JournalEntry | number | null>();

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

  /** Creates the folder and lists the entries in it (read lazily, or all at once by all()). */
  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    for (const f of await readdir(this.dir))
      if (f.endsWith('.json')) this.#entries.set(f.slice(0, -'.json'.length), null);
  }

  #path(requestId: string): string {
    return join(this.dir, `${requestId}.json`);
  }

  #keep(entry: JournalEntry): void {
    this.#entries.set(
      entry.request.requestId,
      entry.state === 'finished' ? Date.parse(entry.finishedAt ?? entry.acceptedAt) : entry,
    );
  }

  async #read(requestId: string): Promise<JournalEntry> {
    const path = this.#path(requestId);
    try {
      const [first, ...updates] = (await readFile(path, 'utf8')).split('\n');
      const entry = JSON.parse(first!) as Record<string, unknown>;
      for (const line of updates) {
        let update: unknown;
        try {
          update = JSON.parse(line);
        } catch {
          continue; // torn by a crash: that step never happened
        }
        if (update !== null && typeof update === 'object') Object.assign(entry, update);
      }
      return JournalEntry.parse(entry);
    } catch (err) {
      throw new Error(`journal entry ${path} is unreadable: ${(err as Error).message}`, { cause: err });
    }
  }

  /** The entry of a request, or null when the journal has none. */
  async get(requestId: string): Promise<JournalEntry | null> {
    const known = this.#entries.get(requestId);
    if (known === undefined) return null;
    if (known !== null && typeof known === 'object') return known;
    const entry = await this.#read(requestId);
    if (this.#entries.get(requestId) === null) this.#keep(entry);
    return entry;
  }

  /**
   * Writes a whole entry (a new request, or the next attempt of a retry). Writes of the same
   * request are serialised: the entry a crash leaves behind is the one last asked for (the pid
   * noted at spawn cannot land after the `finished` state).
   */
  put(input: JournalEntryInput): Promise<void> {
    const entry: JournalEntry = { ...input, attempt: input.attempt ?? 1 };
    const data = JSON.stringify(entry);
    return this.#serial(entry.request.requestId, async () => {
      await writeFileDurable(this.#path(entry.request.requestId), data);
      this.#keep(entry);
    });
  }

  /**
   * Appends a step to the entry of `requestId`, which must exist (written by put()). Durable when
   * it resolves, like put(), at the cost of one fdatasync instead of two fsyncs and a rename.
   */
  update(requestId: string, update: JournalUpdate): Promise<void> {
    return this.#serial(requestId, async () => {
      const known = this.#entries.get(requestId);
      const entry = known !== null && typeof known === 'object' ? known : await this.#read(requestId);
      await appendFileDurable(this.#path(requestId), `\n${JSON.stringify(update)}`);
      this.#keep({ ...entry, ...update });
    });
  }

  remove(requestId: string): Promise<void> {
    return this.#serial(requestId, async () => {
      await removeDurable(this.#path(requestId));
      this.#entries.delete(requestId);
    });
  }

  /**
   * Removes the entries that finished before `cutoffMs` (ms since the epoch); returns how many.
   * Entries listed at start and not read yet are left to the caller's all() at start.
   */
  async pruneFinished(cutoffMs: number): Promise<number> {
    const old = [...this.#entries].filter(
      (e): e is [string, number] => typeof e[1] === 'number' && e[1] < cutoffMs,
    );
    for (const [requestId] of old) await this.remove(requestId);
    return old.length;
  }

  /** Every entry; unreadable files are returned separately (the caller reports them). */
  async all(): Promise<{ entries: JournalEntry[]; unreadable: string[] }> {
    const entries: JournalEntry[] = [];
    const unreadable: string[] = [];
    for (const f of (await readdir(this.dir)).sort()) {
      if (!f.endsWith('.json')) continue;
      try {
        const entry = await this.#read(f.slice(0, -'.json'.length));
        this.#keep(entry);
        entries.push(entry);
      } catch {
        unreadable.push(join(this.dir, f));
      }
    }
    return { entries, unreadable };
  }
}
