/**
 * Control commands: payloads of the core subjects `ctl.<scope>.<verb>` (not stored).
 *
 * `kill` names what to end: every running request of an execution, or one request. The agent reads
 * it with {@link parseKillCommand}; a payload that is not one is ignored (and logged), never thrown
 * from a subscription callback, where an exception would stop the connection reading.
 */
import { z } from 'zod';

import { decodeMessage, encodeMessage } from './codec.js';
import { ExecId, RequestId } from './ids.js';

/** KillCommand: `{execId}` or `{requestId}`; naming neither kills nothing. */
export const KillCommand = z.object({
  execId: ExecId.optional(),
  requestId: RequestId.optional(),
});
export type KillCommand = z.infer<typeof KillCommand>;

/** Reads a KillCommand (JSON value, bytes or string); unknown fields are dropped. Throws WireError. */
export function parseKillCommand(json: unknown): KillCommand {
  return decodeMessage(KillCommand, 'KillCommand', json);
}

/** Writes a KillCommand as UTF-8 JSON; unknown fields are rejected. Throws WireError. */
export function encodeKillCommand(msg: KillCommand): Uint8Array {
  return encodeMessage(KillCommand, 'KillCommand', msg);
}
