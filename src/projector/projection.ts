// The projection of messages into the database: applying a batch in one transaction. Decoding
// (validation at the edge, subject checks, column values) is decode.ts, done before, often on
// another thread; no SQL here either: the writers own it.
//
// Failure policy: a message that does not decode is recorded in `projection_errors` and counts as
// applied (it will be acked). If applying a batch fails for another reason, storage errors (disk
// full, I/O, locked) are rethrown so the batch is not acked and is redelivered later; anything
// else is retried message by message, and the message that still fails is recorded, so one odd
// message can never pin a consumer.
import { parseAgentState } from '../wire/index.js';
import { STREAMS } from '../kv/index.js';
import type { Db } from './db.js';
import { decodeBatch, ProjectionInputError, RESULT_COL, type Op } from './decode.js';
import { agentWriter, type AgentWriter } from './write-agents.js';
import { auditWriter, type AuditWriter } from './write-audit.js';
import { errorWriter, type ErrorWriter } from './write-errors.js';
import { eventWriter, type EventWriter } from './write-events.js';
import { executionWriter, type ExecutionWriter } from './write-executions.js';
import { resultWriter, type ResultWriter } from './write-results.js';

export { ProjectionInputError } from './decode.js';

/** The streams the projector consumes. */
export const PROJECTED_STREAMS = [
  STREAMS.results,
  STREAMS.events,
  STREAMS.obsEvents,
  STREAMS.inventory,
  STREAMS.audit,
] as const;
export type ProjectedStream = (typeof PROJECTED_STREAMS)[number];

/** The stream name recorded with errors of the agents_state watch. */
export const AGENTS_KV_SOURCE = 'KV_agents_state';

/** One stored message as the projection sees it. */
export type RawMessage = {
  stream: ProjectedStream;
  seq: number;
  subject: string;
  data: Uint8Array;
  /** When the stream stored it, in ms since the epoch (an RFC 3339 string only on error rows). */
  storedAtMs: number;
};

export type BatchOutcome = { applied: number; errors: number };

/** One `agents_state` KV entry: a put with its value, or a delete (`value: null`). */
export type AgentEntry = { key: string; revision: number; value: Uint8Array | null; at: string };

const STORAGE_ERRORS = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|READONLY|CANTOPEN|CORRUPT|NOMEM|NOTADB|PROTOCOL)/;

/** True for errors of the database itself, after which a batch must not be acked. */
export function isStorageError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && STORAGE_ERRORS.test(code);
}

/** What the apply worker applies: a decoded batch of one stream, or one agents_state entry. */
export type ApplyUnit = { batch: readonly RawMessage[]; ops: readonly Op[] } | { agent: AgentEntry };

/** Executions a batch touched; results also name their job, for a placeholder execution row. */
type Touched = Map<string, { jobId: string; jobVersion: string } | null>;

export type ProjectionOptions = {
  /**
   * Recount an execution at most this often (ms); a batch that touches it sooner leaves the
   * recount to flushRecounts(). 0 (the default): every batch recounts what it touched. A recount
   * reads all of an execution's runs, so results of a 10,000-pc fan-out arriving a few at a time
   * cost a full recount each: 1.3 ms per result, against 25 us in batches of 500 (docs/projector.md).
   */
  recountEveryMs?: number;
  /** The clock of recountEveryMs, in ms (default performance.now; tests pass their own). */
  now?: () => number;
};

export class Projection {
  readonly #db: Db;
  readonly #results: ResultWriter;
  readonly #events: EventWriter;
  readonly #audit: AuditWriter;
  readonly #executions: ExecutionWriter;
  readonly #agents: AgentWriter;
  readonly #errors: ErrorWriter;
  readonly #recountEveryMs: number;
  readonly #now: () => number;
  /** When each recently recounted execution was recounted (by the `now` clock). */
  readonly #recountedAt = new Map<string, number>();
  /** Executions whose recount was put off. */
  readonly #recountDue = new Set<string>();

  constructor(db: Db, opts: ProjectionOptions = {}) {
    this.#db = db;
    this.#recountEveryMs = opts.recountEveryMs ?? 0;
    this.#now = opts.now ?? (() => performance.now());
    this.#results = resultWriter(db);
    this.#events = eventWriter(db);
    this.#audit = auditWriter(db);
    this.#executions = executionWriter(db);
    this.#agents = agentWriter(db);
    this.#errors = errorWriter(db);
  }

  /** Decodes and applies a batch in one transaction (see the failure policy above). */
  applyBatch(batch: readonly RawMessage[]): BatchOutcome {
    return this.applyDecoded(batch, decodeBatch(batch));
  }

  /**
   * Applies a decoded batch (`ops[i]` is what `batch[i]` writes, from decode.ts) in one
   * transaction (see the failure policy above).
   */
  applyDecoded(batch: readonly RawMessage[], ops: readonly Op[]): BatchOutcome {
    if (ops.length !== batch.length) {
      throw new Error(`a batch of ${batch.length} messages came with ${ops.length} decoded ops`);
    }
    try {
      return this.#db.transaction(() => this.#applyAll(batch, ops)).immediate();
    } catch (err) {
      if (isStorageError(err)) throw err;
      if (batch.length === 1) {
        return this.#db.transaction(() => this.#recordFailure(batch[0]!, err)).immediate();
      }
      let applied = 0;
      let errors = 0;
      for (const [i, m] of batch.entries()) {
        const one = this.applyDecoded([m], [ops[i]!]);
        applied += one.applied;
        errors += one.errors;
      }
      return { applied, errors };
    }
  }

  #applyAll(batch: readonly RawMessage[], ops: readonly Op[]): BatchOutcome {
    const touched: Touched = new Map();
    const outcome = this.#writeAll(batch, ops, touched);
    this.#recount(touched);
    return outcome;
  }

  /**
   * Applies several units, decoded batches and agents_state entries, in one transaction: the
   * apply worker groups what queued up behind the batch it was applying, so a burst costs one
   * commit (one WAL sync, each shared page written once) per group instead of one per batch. When
   * the group fails for a reason other than storage, each unit is applied on its own as usual.
   */
  applyGroup(units: readonly ApplyUnit[]): BatchOutcome[] {
    if (units.length === 1) return [this.#applyUnit(units[0]!)];
    for (const u of units) {
      if ('ops' in u && u.ops.length !== u.batch.length) return units.map((one) => this.#applyUnit(one));
    }
    try {
      return this.#db
        .transaction(() => {
          const touched: Touched = new Map();
          const outcomes = units.map((u) => {
            if ('ops' in u) return this.#writeAll(u.batch, u.ops, touched);
            this.#writeAgentEntry(u.agent);
            return { applied: 1, errors: 0 };
          });
          this.#recount(touched);
          return outcomes;
        })
        .immediate();
    } catch (err) {
      if (isStorageError(err)) throw err;
      return units.map((u) => this.#applyUnit(u));
    }
  }

  #applyUnit(u: ApplyUnit): BatchOutcome {
    if ('ops' in u) return this.applyDecoded(u.batch, u.ops);
    this.applyAgentEntry(u.agent);
    return { applied: 1, errors: 0 };
  }

  #writeAll(batch: readonly RawMessage[], ops: readonly Op[], touched: Touched): BatchOutcome {
    let errors = 0;
    for (const [i, op] of ops.entries()) {
      const problem = this.#write(op, touched);
      if (problem !== undefined) {
        this.#record(batch[i]!, new ProjectionInputError(problem));
        errors++;
      }
    }
    return { applied: batch.length - errors, errors };
  }

  /**
   * The placeholder executions and the recount of every execution a transaction touched (or, for
   * one recounted less than `recountEveryMs` ago, a note that it is due).
   */
  #recount(touched: Touched): void {
    const now = this.#now();
    for (const [id, job] of touched) {
      if (job) this.#results.placeholder(id, job.jobId, job.jobVersion);
      if (this.#recountEveryMs > 0) {
        const last = this.#recountedAt.get(id);
        if (last !== undefined && now - last < this.#recountEveryMs) {
          this.#recountDue.add(id);
          continue;
        }
        this.#recountedAt.set(id, now);
      }
      this.#recountDue.delete(id);
      this.#executions.recompute(id);
    }
  }

  /** True when recounts were put off (see ProjectionOptions.recountEveryMs). */
  get recountsDue(): boolean {
    return this.#recountDue.size > 0;
  }

  /**
   * Recounts the executions whose recount was put off, in one transaction, and forgets when the
   * others were recounted once that no longer matters (so the memory this takes stays bounded by
   * the executions of the last `recountEveryMs`). Returns how many it recounted.
   */
  flushRecounts(): number {
    const due = [...this.#recountDue];
    if (due.length > 0) {
      this.#db.transaction(() => due.forEach((id) => this.#executions.recompute(id))).immediate();
    }
    const now = this.#now();
    for (const id of due) {
      this.#recountDue.delete(id);
      this.#recountedAt.set(id, now);
    }
    for (const [id, at] of this.#recountedAt) {
      if (now - at >= this.#recountEveryMs && !this.#recountDue.has(id)) this.#recountedAt.delete(id);
    }
    return due.length;
  }

  /** Executions whose last recount time is remembered (bounded; see flushRecounts). */
  get recountsRemembered(): number {
    return this.#recountedAt.size;
  }

  /**
   * Recounts every execution not final yet: a projector that stopped between committing a batch
   * and a recount it put off left that execution's counters behind. Returns how many.
   */
  recountOpen(): number {
    return this.#db
      .transaction(() => {
        const open = this.#executions.open();
        for (const id of open) this.#executions.recompute(id);
        return open.length;
      })
      .immediate();
  }

  /** Writes one op; returns why the message is recorded as an error, if it is. */
  #write(op: Op, touched: Touched): string | undefined {
    switch (op.k) {
      case 'result': {
        this.#results.write(op.row);
        const execId = op.row[RESULT_COL.execId] as string;
        const job = {
          jobId: op.row[RESULT_COL.jobId] as string,
          jobVersion: op.row[RESULT_COL.jobVersion] as string,
        };
        touched.set(execId, job);
        return undefined;
      }
      case 'runEvent': {
        this.#events.runEvent(op.row);
        const execId = op.row[5];
        if (!touched.has(execId)) touched.set(execId, null);
        return undefined;
      }
      case 'obs':
        this.#events.obsEvent(op.row);
        return undefined;
      case 'inventory':
        this.#events.inventory(op.row);
        return undefined;
      case 'receipt':
        this.#audit.receipt(op.row);
        if (op.start) {
          this.#audit.runStart(op.start);
          if (!touched.has(op.start.execId)) touched.set(op.start.execId, null);
        }
        return op.problem;
      case 'error':
        return op.error;
      default: {
        const never: never = op;
        throw new Error(`unknown op ${JSON.stringify(never)}`);
      }
    }
  }

  #recordFailure(m: RawMessage, err: unknown): BatchOutcome {
    this.#record(m, err);
    return { applied: 0, errors: 1 };
  }

  #record(m: RawMessage, err: unknown): void {
    this.#errors.record({
      stream: m.stream,
      seq: m.seq,
      subject: m.subject,
      at: new Date(m.storedAtMs).toISOString(),
      error: err instanceof Error ? err.message : String(err),
      raw: m.data,
    });
  }

  /**
   * Applies one `agents_state` entry (a put with its value, or a delete). A value that does not
   * parse is recorded as an error with the KV revision as its sequence.
   */
  applyAgentEntry(e: AgentEntry): void {
    this.#db.transaction(() => this.#writeAgentEntry(e)).immediate();
  }

  #writeAgentEntry(e: AgentEntry): void {
    if (e.value === null) return this.#agents.remove(e.key);
    try {
      const state = parseAgentState(e.value);
      if (state.pcId !== e.key) {
        throw new ProjectionInputError(`agents_state key '${e.key}' holds the state of '${state.pcId}'`);
      }
      this.#agents.put(state, e.revision);
    } catch (err) {
      this.#errors.record({
        stream: AGENTS_KV_SOURCE,
        seq: e.revision,
        subject: `$KV.agents_state.${e.key}`,
        at: e.at,
        error: (err as Error).message,
        raw: e.value,
      });
    }
  }

  /** Marks runs expired whose execution's deadline passed with no sign of life; returns how many executions changed. */
  sweepExpired(nowMs: number): number {
    return this.#db
      .transaction(() => this.#executions.sweepExpired(new Date(nowMs).toISOString()).length)
      .immediate();
  }

  setMeta(key: string, value: string): void {
    this.#errors.setMeta(key, value);
  }
}
