// One durable pull consumer feeding the projection: messages are decoded as they arrive and
// gathered into batches (up to `batchSize`, or what arrived until the stream has nothing pending,
// or `flushAfterMs`; a stream with nothing pending hands over at once unless it handed over a
// batch less than `flushAfterMs` ago), each batch is applied in one transaction, and only then
// acked. A crash between commit and ack redelivers messages whose effects are already in the
// database; the writers' upserts make that a no-op (docs/projector.md, "exactly once").
//
// Applying is asynchronous (the apply worker), and the next batch is gathered while one is
// applied: at most MAX_IN_FLIGHT batches are handed over and not yet settled, and the loop waits
// for the oldest before it gathers more. A batch that fails is nak'ed while a later one may commit
// and be acked; that is safe because the projection does not depend on the order of messages.
import {
  AckPolicy,
  DeliverPolicy,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { setTimeout as delay } from 'node:timers/promises';
import type { ProjectorLogger } from './options.js';
import { addMessage, emptyBatch, type DecodedBatch } from './decoded-batch.js';
import type { BatchOutcome, ProjectedStream, RawMessage } from './projection.js';

export type StreamConsumerOptions = {
  js: JetStreamClient;
  jsm: JetStreamManager;
  stream: ProjectedStream;
  durable: string;
  batchSize: number;
  flushAfterMs: number;
  ackWaitMs: number;
  /** Applies and commits a batch; rejects when it could not be committed. */
  apply: (batch: DecodedBatch) => Promise<BatchOutcome>;
  logger: ProjectorLogger;
};

/** Backoff after a failed commit or a broken consume loop. */
const RETRY_MS = 1_000;

/** Batches handed to `apply` and not settled yet: one being applied, one waiting behind it. */
const MAX_IN_FLIGHT = 2;

const ns = (ms: number) => ms * 1_000_000;

/** A batch being gathered: the decoded messages, and the messages to ack once it is committed. */
type Gathered = { batch: DecodedBatch; messages: JsMsg[] };

/**
 * Lifetime of one pull request. When a cluster node dies, the client re-checks the consumer
 * (after a reconnect, or two missed heartbeats of half this time) and, if that fails during the
 * leader election, waits this long before trying again. With the client's default (30 s) the
 * projection stalled about 38 s after losing the RESULTS leader node; an idle pull renewed every
 * 5 s costs the broker next to nothing.
 */
const PULL_EXPIRES_MS = 5_000;

/** Creates the durable consumer, or updates the settings we own on an existing one. */
export async function ensureDurable(
  jsm: JetStreamManager,
  stream: string,
  durable: string,
  ackWaitMs: number,
  maxAckPending: number,
): Promise<void> {
  const owned = { ack_wait: ns(ackWaitMs), max_ack_pending: maxAckPending };
  const existing = await jsm.consumers.info(stream, durable).catch(() => null);
  if (existing === null) {
    await jsm.consumers.add(stream, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      max_deliver: -1,
      ...owned,
    });
  } else if (
    existing.config.ack_wait !== owned.ack_wait ||
    existing.config.max_ack_pending !== maxAckPending
  ) {
    await jsm.consumers.update(stream, durable, owned);
  }
}

export class StreamConsumer {
  readonly #o: StreamConsumerOptions;
  #messages: ConsumerMessages | null = null;
  #loop: Promise<void> | null = null;
  #stopping = false;
  #batch: Gathered;
  #timer: NodeJS.Timeout | null = null;
  /** When the last batch was handed over (performance.now()). */
  #handedOverAt = -Infinity;
  /** Batches handed to `apply`, oldest first, removed when acked or nak'ed. */
  #inFlight: Promise<void>[] = [];
  /** Messages applied and errors recorded since start. */
  readonly stats = { applied: 0, errors: 0, batches: 0 };

  constructor(opts: StreamConsumerOptions) {
    this.#o = opts;
    this.#batch = { batch: emptyBatch(opts.stream), messages: [] };
  }

  async start(): Promise<void> {
    if (this.#loop) return;
    const o = this.#o;
    await ensureDurable(o.jsm, o.stream, o.durable, o.ackWaitMs, Math.max(10_000, o.batchSize * 4));
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    const o = this.#o;
    while (!this.#stopping) {
      try {
        const consumer = await o.js.consumers.get(o.stream, o.durable);
        this.#messages = await consumer.consume({
          max_messages: Math.max(o.batchSize * 2, 256),
          expires: PULL_EXPIRES_MS,
        });
        if (this.#stopping) void this.#messages.close();
        for await (const m of this.#messages) {
          addMessage(this.#batch.batch, toRaw(o.stream, m));
          this.#batch.messages.push(m);
          if (this.#batch.messages.length >= o.batchSize) await this.#flush();
          else if (m.info.pending === 0 && performance.now() - this.#handedOverAt >= o.flushAfterMs) {
            await this.#flush();
          } else {
            // More is on its way, or a batch was handed over moments ago: messages that trickle
            // in (a fan-out's results) are gathered for up to flushAfterMs, not one batch each.
            this.#timer ??= setTimeout(() => void this.#flush(), o.flushAfterMs);
          }
        }
      } catch (err) {
        o.logger.warn(
          { stream: o.stream, durable: o.durable, err: (err as Error).message },
          'consume loop failed; retrying',
        );
        if (!this.#stopping) {
          await delay(RETRY_MS);
          await ensureDurable(
            o.jsm,
            o.stream,
            o.durable,
            o.ackWaitMs,
            Math.max(10_000, o.batchSize * 4),
          ).catch((e: unknown) =>
            o.logger.warn({ stream: o.stream, err: (e as Error).message }, 'cannot ensure consumer'),
          );
        }
      } finally {
        // Stop (or a broken iterator): finish the batch in hand.
        await this.#flush();
      }
    }
  }

  /**
   * Hands the current batch to `apply` (acked when it commits, nak'ed when not) and resolves when
   * fewer than MAX_IN_FLIGHT batches are outstanding. Takes the batch synchronously, so a timer
   * and the loop never hand over the same messages.
   */
  async #flush(): Promise<void> {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    if (this.#batch.messages.length > 0) {
      this.#handedOverAt = performance.now();
      const done = this.#applyAndAck(this.#batch);
      this.#batch = { batch: emptyBatch(this.#o.stream), messages: [] };
      this.#inFlight.push(done);
      void done.then(() => this.#inFlight.splice(this.#inFlight.indexOf(done), 1));
    }
    while (this.#inFlight.length >= MAX_IN_FLIGHT) await this.#inFlight[0];
  }

  /** Applies a batch, then acks it; nak's it when it was not committed. Never rejects. */
  async #applyAndAck({ batch, messages }: Gathered): Promise<void> {
    const o = this.#o;
    let outcome: BatchOutcome;
    try {
      outcome = await o.apply(batch);
    } catch (err) {
      // Not committed: ask for redelivery later rather than wait for ack_wait.
      o.logger.error(
        { stream: o.stream, size: messages.length, err: (err as Error).message },
        'batch not committed; will be redelivered',
      );
      for (const m of messages) m.nak(RETRY_MS);
      return;
    }
    for (const m of messages) m.ack();
    this.stats.applied += outcome.applied;
    this.stats.errors += outcome.errors;
    this.stats.batches++;
    if (outcome.errors > 0) {
      o.logger.warn(
        { stream: o.stream, errors: outcome.errors },
        'malformed messages recorded in projection_errors',
      );
    }
  }

  /** True when the stream holds nothing this consumer has not applied and acked. */
  async caughtUp(): Promise<boolean> {
    const info = await this.#o.jsm.consumers.info(this.#o.stream, this.#o.durable);
    return (
      info.num_pending === 0 &&
      info.num_ack_pending === 0 &&
      this.#batch.messages.length === 0 &&
      this.#inFlight.length === 0
    );
  }

  /** Stops consuming, applies the batch in hand, and returns when the loop has ended. Idempotent. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#messages?.close();
    await this.#loop;
    await this.#flush();
    await Promise.all(this.#inFlight);
  }
}

function toRaw(stream: ProjectedStream, m: JsMsg): RawMessage {
  return {
    stream,
    seq: m.seq,
    subject: m.subject,
    data: m.data,
    storedAtMs: Number(BigInt(m.info.timestampNanos) / 1_000_000n),
  };
}
