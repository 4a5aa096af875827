// The projection of messages into the database: decoding (validation at the edge, subject checks)
// and applying a batch in one transaction. No SQL here: the writers own it.
//
// Failure policy: a message that does not decode is recorded in `projection_errors` and counts as
// applied (it will be acked). If applying a batch fails for another reason, storage errors (disk
// full, I/O, locked) are rethrown so the batch is not acked and is redelivered later; anything
// else is retried message by message, and the message that still fails is recorded, so one odd
// message can never pin a consumer.
import {
  parseAgentState,
  parseAuditEvent,
  parseExecResult,
  parseInventory,
  parseObsEvent,
  parseRunEvent,
  parseRunStart,
  parseSubject,
  resultIdFor,
} from '../wire/index.js';
import { STREAMS } from '../kv/index.js';
import type { Db } from './db.js';
import { agentWriter, type AgentWriter } from './write-agents.js';
import { auditWriter, type AuditWriter } from './write-audit.js';
import { errorWriter, type ErrorWriter } from './write-errors.js';
import { eventWriter, type EventWriter } from './write-events.js';
import { executionWriter, type ExecutionWriter } from './write-executions.js';
import { resultWriter, type ResultWriter } from './write-results.js';

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

/** A message that cannot be projected: wrong subject, or a body that does not match it. */
export class ProjectionInputError extends Error {
  override name = 'ProjectionInputError';
}

const STORAGE_ERRORS = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|READONLY|CANTOPEN|CORRUPT|NOMEM|NOTADB|PROTOCOL)/;

/** True for errors of the database itself, after which a batch must not be acked. */
export function isStorageError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && STORAGE_ERRORS.test(code);
}

/** Executions a batch touched; results also name their job, for a placeholder execution row. */
type Touched = Map<string, { jobId: string; jobVersion: string } | null>;

type Decoded = { write: (touched: Touched) => void; problem?: string };

function mismatch(subject: string, what: string): never {
  throw new ProjectionInputError(`subject '${subject}' does not match the message's ${what}`);
}

export class Projection {
  readonly #db: Db;
  readonly #results: ResultWriter;
  readonly #events: EventWriter;
  readonly #audit: AuditWriter;
  readonly #executions: ExecutionWriter;
  readonly #agents: AgentWriter;
  readonly #errors: ErrorWriter;

  constructor(db: Db) {
    this.#db = db;
    this.#results = resultWriter(db);
    this.#events = eventWriter(db);
    this.#audit = auditWriter(db);
    this.#executions = executionWriter(db);
    this.#agents = agentWriter(db);
    this.#errors = errorWriter(db);
  }

  /** Applies a batch in one transaction (see the failure policy above). */
  applyBatch(batch: readonly RawMessage[]): BatchOutcome {
    try {
      return this.#db.transaction(() => this.#applyAll(batch)).immediate();
    } catch (err) {
      if (isStorageError(err) || batch.length === 1) {
        if (isStorageError(err)) throw err;
        return this.#db.transaction(() => this.#recordFailure(batch[0]!, err)).immediate();
      }
      let applied = 0;
      let errors = 0;
      for (const m of batch) {
        const one = this.applyBatch([m]);
        applied += one.applied;
        errors += one.errors;
      }
      return { applied, errors };
    }
  }

  #applyAll(batch: readonly RawMessage[]): BatchOutcome {
    const touched: Touched = new Map();
    let errors = 0;
    for (const m of batch) {
      let decoded: Decoded;
      try {
        decoded = this.#decode(m);
      } catch (err) {
        this.#record(m, err);
        errors++;
        continue;
      }
      decoded.write(touched);
      if (decoded.problem !== undefined) {
        this.#record(m, new ProjectionInputError(decoded.problem));
        errors++;
      }
    }
    for (const [id, job] of touched) {
      if (job) this.#results.placeholder(id, job.jobId, job.jobVersion);
      this.#executions.recompute(id);
    }
    return { applied: batch.length - errors, errors };
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

  #decode(m: RawMessage): Decoded {
    const subject = parseSubject(m.subject);
    switch (m.stream) {
      case STREAMS.results: {
        const r = parseExecResult(m.data);
        if (subject.kind !== 'result' || subject.pcId !== r.pcId || subject.requestId !== r.requestId) {
          mismatch(m.subject, `pcId '${r.pcId}' and requestId '${r.requestId}'`);
        }
        const expectedId = resultIdFor(r.requestId, r.pcId, r.attempt ?? 1);
        if (r.resultId !== expectedId) {
          throw new ProjectionInputError(
            `resultId '${r.resultId}' must be '${expectedId}' (requestId.pcId, then .attempt from attempt 2)`,
          );
        }
        return {
          write: (touched) => {
            this.#results.write(r, m.seq);
            touched.set(r.execId, { jobId: r.jobId, jobVersion: r.jobVersion });
          },
        };
      }
      case STREAMS.events: {
        const e = parseRunEvent(m.data);
        if (subject.kind !== 'event' || subject.pcId !== e.pcId || subject.eventKind !== e.kind) {
          mismatch(m.subject, `pcId '${e.pcId}' and kind '${e.kind}'`);
        }
        return {
          write: (touched) => {
            this.#events.runEvent(e, m.seq);
            if (!touched.has(e.execId)) touched.set(e.execId, null);
          },
        };
      }
      case STREAMS.obsEvents: {
        const e = parseObsEvent(m.data);
        if (subject.kind !== 'obs' || subject.pcId !== e.pcId) mismatch(m.subject, `pcId '${e.pcId}'`);
        return { write: () => this.#events.obsEvent(e, m.seq) };
      }
      case STREAMS.inventory: {
        const i = parseInventory(m.data);
        if (subject.kind !== 'inventory' || subject.pcId !== i.pcId) mismatch(m.subject, `pcId '${i.pcId}'`);
        return { write: () => this.#events.inventory(i, m.seq) };
      }
      case STREAMS.audit: {
        const e = parseAuditEvent(m.data);
        if (subject.kind !== 'audit' || subject.action !== e.action)
          mismatch(m.subject, `action '${e.action}'`);
        if (e.action !== 'run.start') return { write: () => this.#audit.receipt(e, m.seq) };
        let start;
        try {
          start = parseRunStart(e.details ?? {});
        } catch (err) {
          // The receipt is kept; the execution it should announce is reported as an error.
          return {
            write: () => this.#audit.receipt(e, m.seq),
            problem: `run.start details: ${(err as Error).message}`,
          };
        }
        return {
          write: (touched) => {
            this.#audit.receipt(e, m.seq);
            this.#audit.runStart(e, start);
            if (!touched.has(start.execId)) touched.set(start.execId, null);
          },
        };
      }
      default: {
        const never: never = m.stream;
        throw new ProjectionInputError(`stream '${String(never)}' is not projected`);
      }
    }
  }

  /**
   * Applies one `agents_state` entry (a put with its value, or a delete). A value that does not
   * parse is recorded as an error with the KV revision as its sequence.
   */
  applyAgentEntry(e: AgentEntry): void {
    this.#db
      .transaction(() => {
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
      })
      .immediate();
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
