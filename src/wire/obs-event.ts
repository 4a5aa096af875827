/**
 * ObsEvent: one entry of an endpoint's timeline (agent online/offline, boot, logon, events a
 * job emits), published on `obs.<pc_id>`.
 */
import { z } from 'zod';

import { decodeMessage, encodeMessage } from './codec.js';
import { EventId, JsonRecord, KindToken, Timestamp, WireVersion } from './fields.js';
import { PcId } from './ids.js';

/** Who produced the event: the agent itself, the platform (backend, scheduler), or a job's script. */
export const ObsSource = z.enum(['agent', 'platform', 'job']);
export type ObsSource = z.infer<typeof ObsSource>;

/** Kinds the platform writes today; `kind` is an open snake_case word, so jobs may add their own. */
export const OBS_KINDS = [
  'agent_online',
  'agent_offline',
  'agent_upgraded',
  'boot',
  'logon',
  'logoff',
] as const;
export type KnownObsKind = (typeof OBS_KINDS)[number];

/** ObsEvent, wire version 1. */
export const ObsEvent = z.object({
  v: WireVersion,
  /** Unique event id, also the `Nats-Msg-Id`; job-emitted events use `jobEventId` (job-output.ts). */
  id: EventId,
  pcId: PcId,
  /** When it happened on the endpoint. */
  at: Timestamp,
  /** A snake_case word such as `agent_online` (see {@link OBS_KINDS}). */
  kind: KindToken,
  source: ObsSource,
  /** Event details, any JSON object. Default `{}`. */
  payload: JsonRecord.default({}),
});
export type ObsEvent = z.infer<typeof ObsEvent>;
/** What a writer passes to {@link encodeObsEvent}. */
export type ObsEventInput = z.input<typeof ObsEvent>;

/** Reads an ObsEvent (JSON value, bytes or string); unknown fields are dropped. Throws WireError. */
export function parseObsEvent(json: unknown): ObsEvent {
  return decodeMessage(ObsEvent, 'ObsEvent', json);
}

/** Writes an ObsEvent as UTF-8 JSON; unknown fields are rejected. Throws WireError. */
export function encodeObsEvent(msg: ObsEventInput): Uint8Array {
  return encodeMessage(ObsEvent, 'ObsEvent', msg);
}
