/**
 * Heartbeat (core subject `heartbeat.<pc_id>`, not stored) and AgentState (the `agents_state`
 * KV value the backend keeps from the latest heartbeat).
 */
import { z } from 'zod';

import { AgentUpdateState } from './agent-release.js';
import { decodeMessage, encodeMessage } from './codec.js';
import { NonNegativeInt, Timestamp, WireVersion } from './fields.js';
import { ExecId, GroupName, JobId, PcId, RequestId } from './ids.js';

/** A script the agent is running right now. */
export const RunningScript = z.object({
  requestId: RequestId,
  execId: ExecId,
  jobId: JobId,
  startedAt: Timestamp,
});
export type RunningScript = z.infer<typeof RunningScript>;

const agentFields = {
  v: WireVersion,
  pcId: PcId,
  hostname: z.string().min(1),
  /** `process.platform` of the agent: `win32`, `linux`, `darwin`, ... */
  os: z.string().min(1),
  /** `process.arch` of the agent: `x64`, `arm64`, ... */
  arch: z.string().min(1),
  agentVersion: z.string().min(1),
  /** Groups the agent currently subscribes for. Default `[]`. */
  groups: z.array(GroupName).default([]),
  /** When the agent process started. */
  startedAt: Timestamp,
  /** Scripts running now. Default `[]`. */
  running: z.array(RunningScript).default([]),
  /** Self-update in progress or failed (docs/agents.md); absent when there is none. */
  update: AgentUpdateState.optional(),
};

/** Heartbeat, wire version 1: the agent's state as of `at`. */
export const Heartbeat = z.object({
  ...agentFields,
  at: Timestamp,
  /** Heartbeats sent since the agent started; lets a reader spot gaps. Default 0. */
  seq: NonNegativeInt.default(0),
});
export type Heartbeat = z.infer<typeof Heartbeat>;
/** What a writer passes to {@link encodeHeartbeat}. */
export type HeartbeatInput = z.input<typeof Heartbeat>;

/** AgentState, wire version 1: the `agents_state` value, keyed by pc id. */
export const AgentState = z.object({
  ...agentFields,
  /** Time of the latest heartbeat (or other sign of life) from the agent. */
  lastSeenAt: Timestamp,
});
export type AgentState = z.infer<typeof AgentState>;
/** What a writer passes to {@link encodeAgentState}. */
export type AgentStateInput = z.input<typeof AgentState>;

/** The AgentState a heartbeat implies: everything it says, seen at its `at`. */
export function agentStateFromHeartbeat(hb: Heartbeat): AgentState {
  const { at, seq: _seq, ...state } = hb;
  return { ...state, lastSeenAt: at };
}

/** Reads a Heartbeat (JSON value, bytes or string); unknown fields are dropped. Throws WireError. */
export function parseHeartbeat(json: unknown): Heartbeat {
  return decodeMessage(Heartbeat, 'Heartbeat', json);
}

/** Writes a Heartbeat as UTF-8 JSON; unknown fields are rejected. Throws WireError. */
export function encodeHeartbeat(msg: HeartbeatInput): Uint8Array {
  return encodeMessage(Heartbeat, 'Heartbeat', msg);
}

/** Reads an AgentState (JSON value, bytes or string); unknown fields are dropped. Throws WireError. */
export function parseAgentState(json: unknown): AgentState {
  return decodeMessage(AgentState, 'AgentState', json);
}

/** Writes an AgentState as UTF-8 JSON; unknown fields are rejected. Throws WireError. */
export function encodeAgentState(msg: AgentStateInput): Uint8Array {
  return encodeMessage(AgentState, 'AgentState', msg);
}
