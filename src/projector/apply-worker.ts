// Entry module of the apply worker thread (started by BatchWorker): its own connection to the
// projection database and its own Projection, applying the stream batches and agents_state
// entries the main thread sends, one at a time in the order they arrive, and answering each. Decoding and
// writing a batch here overlaps with receiving and acking the next one on the main thread
// (docs/projector.md, "Throughput"). The main thread acks a batch only after this answer, i.e.
// after the commit.
import { parentPort, workerData } from 'node:worker_threads';
import { openProjectionDb } from './db.js';
import type { PackedBatch } from './packed-batch.js';
import { unpackBatch } from './packed-batch.js';
import { Projection, isStorageError, type AgentEntry } from './projection.js';

export type ApplyWorkerData = { dbPath: string };
export type ApplyRequest =
  { id: number; batch: PackedBatch } | { id: number; agent: AgentEntry } | { id: number; close: true };
export type ApplyReply =
  | { ready: true }
  | { id: number; applied: number; errors: number }
  | { id: number; agentApplied: true }
  | { id: number; error: string; code: string | undefined; storage: boolean }
  | { id: number; closed: true };

const port = parentPort;
if (!port) throw new Error('apply-worker.js runs as a worker thread (see batch-worker.ts)');
const { dbPath } = workerData as ApplyWorkerData;
const db = openProjectionDb(dbPath);
const projection = new Projection(db);
const reply = (r: ApplyReply) => port.postMessage(r);

port.on('message', (req: ApplyRequest) => {
  if ('close' in req) {
    db.close();
    reply({ id: req.id, closed: true });
    port.close();
    return;
  }
  try {
    if ('agent' in req) {
      projection.applyAgentEntry(req.agent);
      reply({ id: req.id, agentApplied: true });
    } else {
      reply({ id: req.id, ...projection.applyBatch(unpackBatch(req.batch)) });
    }
  } catch (err) {
    // Not committed (a storage error: the projection records everything else itself).
    const code = (err as { code?: unknown }).code;
    reply({
      id: req.id,
      error: err instanceof Error ? err.message : String(err),
      code: typeof code === 'string' ? code : undefined,
      storage: isStorageError(err),
    });
  }
});
reply({ ready: true });
