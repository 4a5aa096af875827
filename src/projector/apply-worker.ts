// Entry module of the apply worker thread (started by BatchWorker): its own connection to the
// projection database and its own Projection, applying the stream batches (decoded by the main
// thread) and agents_state entries the main thread sends, one at a time in the order they arrive,
// and answering each. Writing a batch here overlaps with receiving, decoding and acking the next
// ones on the main thread (docs/projector.md, "Throughput"). The main thread acks a batch only
// after this answer, i.e. after the commit.
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { openProjectionDb } from './db.js';
import { messagesOf, type DecodedBatch } from './decoded-batch.js';
import {
  Projection,
  isStorageError,
  type AgentEntry,
  type ApplyUnit,
  type BatchOutcome,
} from './projection.js';

export type ApplyWorkerData = { dbPath: string };
export type ApplyRequest =
  | { id: number; batch: DecodedBatch }
  | { id: number; agent: AgentEntry }
  | { id: number; flush: true }
  | { id: number; close: true };
export type ApplyReply =
  | { ready: true }
  | { id: number; applied: number; errors: number }
  | { id: number; agentApplied: true }
  | { id: number; error: string; code: string | undefined; storage: boolean }
  | { id: number; flushed: number }
  | { id: number; closed: true };

/**
 * How often the worker recounts an execution at most, and flushes the recounts it put off: the
 * counters of a big fan-out whose results arrive a few at a time lag by up to this much instead of
 * costing a full recount per batch (ProjectionOptions.recountEveryMs).
 */
export const RECOUNT_EVERY_MS = 100;

const port = parentPort;
if (!port) throw new Error('apply-worker.js runs as a worker thread (see batch-worker.ts)');
const { dbPath } = workerData as ApplyWorkerData;
const db = openProjectionDb(dbPath);
const projection = new Projection(db, { recountEveryMs: RECOUNT_EVERY_MS });
const reply = (r: ApplyReply) => port.postMessage(r);

/** Recounts what was put off; a storage error leaves it due for the next try. */
function flushRecounts(): number {
  try {
    return projection.flushRecounts();
  } catch {
    return 0;
  }
}
setInterval(flushRecounts, RECOUNT_EVERY_MS).unref();

const receive = () => (receiveMessageOnPort(port)?.message as ApplyRequest | undefined) ?? undefined;

// Requests that queued up while a group was applied are taken together (receiveMessageOnPort),
// so a burst is applied in groups of batches, one commit each. When nothing is queued after a
// group, the recounts it put off are made before it is answered: the main thread acks a batch on
// that answer, so once every message is acked the counters are current, and they lag (by at most
// RECOUNT_EVERY_MS) only while work keeps coming.
port.on('message', (first: ApplyRequest) => {
  let next: ApplyRequest | undefined = first;
  while (next !== undefined) {
    const group: Work[] = [];
    for (let req: ApplyRequest | undefined = next; req !== undefined; req = receive()) {
      if ('close' in req) {
        if (group.length > 0) applyGroup(group).forEach(reply);
        flushRecounts();
        db.close();
        reply({ id: req.id, closed: true });
        port.close();
        return;
      }
      if ('flush' in req) {
        if (group.length > 0) applyGroup(group.splice(0)).forEach(reply);
        reply({ id: req.id, flushed: flushRecounts() });
      } else group.push(req);
    }
    if (group.length === 0) return;
    const replies = applyGroup(group);
    next = receive();
    if (next === undefined) flushRecounts();
    replies.forEach(reply);
  }
});

type Work = Extract<ApplyRequest, { batch: DecodedBatch } | { agent: AgentEntry }>;

/** Applies a group in one transaction (see Projection.applyGroup); returns the answers to send. */
function applyGroup(group: Work[]): ApplyReply[] {
  const units: ApplyUnit[] = group.map((req) =>
    'agent' in req ? { agent: req.agent } : { batch: messagesOf(req.batch), ops: req.batch.ops },
  );
  let outcomes: BatchOutcome[];
  try {
    outcomes = projection.applyGroup(units);
  } catch (err) {
    // Not committed (a storage error: the projection records everything else itself).
    const code = (err as { code?: unknown }).code;
    return group.map((req) => ({
      id: req.id,
      error: err instanceof Error ? err.message : String(err),
      code: typeof code === 'string' ? code : undefined,
      storage: isStorageError(err),
    }));
  }
  return group.map((req, i) =>
    'agent' in req ? { id: req.id, agentApplied: true } : { id: req.id, ...outcomes[i]! },
  );
}
reply({ ready: true });
