// Reading ExecResults straight from the RESULTS stream (for `baton run --wait` and `baton exec`,
// which must work without the projector), and reading an output stream in full, inline or from
// the object store.
import type { NatsConnection } from '@nats-io/transport-node';
import { setTimeout as delay } from 'node:timers/promises';
import { DeliverPolicy, jetstream, type ConsumerMessages } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { inlineOutputBytes, parseExecResult, type ExecResult, type OutputStream } from '../wire/index.js';
import { STREAMS } from './names.js';

/**
 * Lifetime of one pull of a results watch (heartbeats come every half of it). An ordered consumer
 * is a single replica on one node: when that node dies (a cluster member lost), the client keeps
 * asking it for info and never recovers. Two missed heartbeats (5 s) close the watch's consumer
 * and a new one resumes after the last result seen.
 */
const WATCH_PULL_EXPIRES_MS = 5_000;
/** Pause before creating the consumer again (a stream leader election takes a few seconds). */
const WATCH_RETRY_MS = 1_000;
/**
 * A watch that saw nothing for this long starts over from the last result it saw. Seen on a loaded
 * machine after a cluster node's SIGKILL: the ordered consumer neither delivered nor reported
 * missed heartbeats for 90 s. Starting over costs one consumer creation; resuming by sequence
 * means nothing is skipped or passed twice.
 */
const WATCH_STALL_MS = 15_000;

/**
 * Calls `onResult` for every result of the given requests (already stored or arriving), until
 * `signal` aborts. Malformed messages are passed to `onInvalid` and skipped. Survives the loss
 * of the cluster node that serves it: no result is skipped or passed twice.
 */
export async function watchResults(
  nc: NatsConnection,
  requestIds: readonly string[],
  onResult: (r: ExecResult) => void,
  signal: AbortSignal,
  onInvalid: (err: Error) => void = () => {},
): Promise<void> {
  const js = jetstream(nc);
  const filter_subjects = requestIds.map((id) => `results.*.${id}`);
  let nextSeq = 0; // stream sequence to resume from; 0 until a result was seen
  let resumed = false;
  while (!signal.aborted) {
    let messages: ConsumerMessages;
    try {
      const consumer = await js.consumers.get(STREAMS.results, {
        filter_subjects,
        ...(nextSeq > 0
          ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: nextSeq }
          : { deliver_policy: DeliverPolicy.All }),
      });
      messages = await consumer.consume({ expires: WATCH_PULL_EXPIRES_MS });
    } catch (err) {
      // A first watch fails fast (no stream, no server); a resumed one rides out an election.
      if (!resumed || signal.aborted) throw err;
      await delay(WATCH_RETRY_MS, undefined, { signal }).catch(() => undefined);
      continue;
    }
    const stop = () => void messages.close();
    signal.addEventListener('abort', stop, { once: true });
    if (signal.aborted) stop();
    let stall = setTimeout(stop, WATCH_STALL_MS);
    void (async () => {
      for await (const s of messages.status()) {
        if (s.type === 'heartbeats_missed') return stop();
      }
    })();
    try {
      for await (const m of messages) {
        clearTimeout(stall);
        stall = setTimeout(stop, WATCH_STALL_MS);
        nextSeq = m.seq + 1;
        try {
          onResult(parseExecResult(m.data));
        } catch (err) {
          onInvalid(err as Error);
        }
      }
    } finally {
      clearTimeout(stall);
      signal.removeEventListener('abort', stop);
    }
    resumed = true;
  }
}

/** The bytes of one output stream: inline, or streamed from the object store. */
export async function* readOutput(nc: NatsConnection, out: OutputStream): AsyncGenerator<Uint8Array> {
  const inline = inlineOutputBytes(out);
  if (inline) {
    yield inline;
    return;
  }
  if (!out.object) return;
  const store = await new Objm(nc).open(out.object.bucket);
  const obj = await store.get(out.object.name);
  if (!obj)
    throw new Error(`output object ${out.object.bucket}/${out.object.name} is missing (expired or deleted)`);
  const reader = obj.data.getReader();
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      yield value;
    }
    finished = true;
  } finally {
    if (!finished) {
      // The caller stopped early (or reading failed): cancel the transfer and consume the
      // object's error promise, which would otherwise reject with nobody listening.
      obj.error.catch(() => undefined);
      await reader.cancel().catch(() => undefined);
    }
  }
  const err = await obj.error;
  if (err) throw new Error(`reading output object ${out.object.name}: ${err.message}`, { cause: err });
}
