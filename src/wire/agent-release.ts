/**
 * Agent self-update on the wire: the version names of agent releases (objects in the
 * `agent_releases` store, one per version), and the update state an agent reports in its
 * heartbeat and `agents_state` value while it moves to its `target_version` or after it failed to.
 */
import { z } from 'zod';

import { Timestamp } from './fields.js';

/** A release version as in its package.json: `0.2.0`, `1.4.0-rc.1`. Also the object name. */
export const AgentReleaseVersion = z.string().regex(/^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$/, {
  error: "must be a version like '0.2.0' or '1.4.0-rc.1' (letters, digits, '.', '+', '_', '-'; max 64)",
});
export type AgentReleaseVersion = z.infer<typeof AgentReleaseVersion>;

/**
 * Where an agent stands with its target version (absent when it runs the target, or has none):
 * `waiting` out its random delay, `downloading` (and verifying, unpacking), `restarting` into it,
 * or `failed` (the download, the check or the start of the release failed; `error` says how).
 */
export const AgentUpdateState = z.object({
  version: AgentReleaseVersion,
  status: z.enum(['waiting', 'downloading', 'restarting', 'failed']),
  /** Why it failed; only with `failed`. */
  error: z.string().max(1000).optional(),
  /** When the agent entered this status. */
  at: Timestamp,
});
export type AgentUpdateState = z.infer<typeof AgentUpdateState>;
