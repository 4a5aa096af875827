/**
 * RunEvent: a step in the lifecycle of one request on one endpoint, published on
 * `events.<pc_id>.<kind>`. The final step is the ExecResult, not a RunEvent.
 */
import { z } from 'zod';

import { decodeMessage, encodeMessage } from './codec.js';
import { EventId, KindToken, Timestamp, WireVersion } from './fields.js';
import { ExecId, JobId, PcId, RequestId } from './ids.js';

/**
 * - `accepted`: the agent recorded the request on disk and acked it (run state `delivered`).
 * - `started`: the script process is running.
 * - `skipped`: the agent will not run it; the result with the reason follows.
 */
export const RunEventKind = z.enum(['accepted', 'started', 'skipped']);
export type RunEventKind = z.infer<typeof RunEventKind>;

/**
 * The id of the `kind` event of `requestId` on `pcId`: `<requestId>.<pcId>.<kind>`.
 * Deterministic, so a re-sent event is deduplicated by `Nats-Msg-Id`.
 */
export function runEventIdFor(requestId: string, pcId: string, kind: RunEventKind): string {
  return `${requestId}.${pcId}.${kind}`;
}

/** RunEvent, wire version 1. */
export const RunEvent = z.object({
  v: WireVersion,
  /** `runEventIdFor(requestId, pcId, kind)`; also the `Nats-Msg-Id`. */
  id: EventId,
  at: Timestamp,
  pcId: PcId,
  requestId: RequestId,
  execId: ExecId,
  jobId: JobId,
  kind: RunEventKind,
  /** For `skipped`: why, a snake_case word such as `revoked`. */
  reason: KindToken.optional(),
});
export type RunEvent = z.infer<typeof RunEvent>;
/** What a writer passes to {@link encodeRunEvent}. */
export type RunEventInput = z.input<typeof RunEvent>;

/** Reads a RunEvent (JSON value, bytes or string); unknown fields are dropped. Throws WireError. */
export function parseRunEvent(json: unknown): RunEvent {
  return decodeMessage(RunEvent, 'RunEvent', json);
}

/** Writes a RunEvent as UTF-8 JSON; unknown fields are rejected. Throws WireError. */
export function encodeRunEvent(msg: RunEventInput): Uint8Array {
  return encodeMessage(RunEvent, 'RunEvent', msg);
}
