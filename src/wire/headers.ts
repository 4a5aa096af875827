/**
 * NATS header names. The `Nats-*` ones are interpreted by the server; the `Baton-*` ones are
 * ours and only describe the payload, which stays the source of truth.
 */

/** JetStream de-duplication id. Every stored message is published with one (see DESIGN.md). */
export const MSG_ID = 'Nats-Msg-Id';

/** Publish only if the subject's last sequence is this value (compare-and-swap on a subject). */
export const EXPECTED_LAST_SUBJECT_SEQUENCE = 'Nats-Expected-Last-Subject-Sequence';

/** Publish only if the stream has this name (guards against a subject captured by another stream). */
export const EXPECTED_STREAM = 'Nats-Expected-Stream';

/** Wire version of the payload, e.g. `1`; lets a reader reject a newer version before parsing. */
export const BATON_WIRE = 'Baton-Wire';

/** Message type of the payload, one of {@link MESSAGE_TYPES}. */
export const BATON_TYPE = 'Baton-Type';

/** On `out.<pc_id>.<request_id>` chunks: which stream the chunk belongs to, `stdout` or `stderr`. */
export const BATON_OUT_STREAM = 'Baton-Out-Stream';

/** On `out.*` chunks: 0-based chunk sequence per request, so a tail can spot gaps. */
export const BATON_OUT_SEQ = 'Baton-Out-Seq';

/** On `out.*`: set to `true` on the last chunk of a request (its payload may be empty). */
export const BATON_OUT_EOF = 'Baton-Out-Eof';

/** Values of the {@link BATON_TYPE} header. */
export const MESSAGE_TYPES = [
  'ExecRequest',
  'ExecResult',
  'RunEvent',
  'Heartbeat',
  'AgentState',
  'ObsEvent',
  'Inventory',
  'AuditEvent',
] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];
