// Reading ExecResults straight from the RESULTS stream (for `baton run --wait` and `baton exec`,
// which must work without the projector), and reading an output stream in full, inline or from
// the object store.
import type { NatsConnection } from '@nats-io/transport-node';
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { inlineOutputBytes, parseExecResult, type ExecResult, type OutputStream } from '../wire/index.js';
import { STREAMS } from './names.js';

/**
 * Calls `onResult` for every result of the given requests (already stored or arriving), until
 * `signal` aborts. Malformed messages are passed to `onInvalid` and skipped.
 */
export async function watchResults(
  nc: NatsConnection,
  requestIds: readonly string[],
  onResult: (r: ExecResult) => void,
  signal: AbortSignal,
  onInvalid: (err: Error) => void = () => {},
): Promise<void> {
  const js = jetstream(nc);
  const consumer = await js.consumers.get(STREAMS.results, {
    filter_subjects: requestIds.map((id) => `results.*.${id}`),
    deliver_policy: DeliverPolicy.All,
  });
  const messages = await consumer.consume();
  const stop = () => void messages.close();
  signal.addEventListener('abort', stop, { once: true });
  if (signal.aborted) stop();
  try {
    for await (const m of messages) {
      try {
        onResult(parseExecResult(m.data));
      } catch (err) {
        onInvalid(err as Error);
      }
    }
  } finally {
    signal.removeEventListener('abort', stop);
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
