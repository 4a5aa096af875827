/**
 * Agent config: the values of the `agent_config` bucket. Keys `global`, `groups.<group>`,
 * `pcs.<pc_id>` each hold a partial layer (JSON); an agent merges them per field in that order
 * (groups in name order), later layers overriding earlier ones, and applies the result live.
 * `target_version` is a field of the layers like any other, so a version can be targeted for the
 * whole fleet, a group or one pc (agent self-update, docs/agents.md).
 */
import { z } from 'zod';

import { AgentReleaseVersion } from './agent-release.js';
import { parseDuration } from './duration.js';
import { GroupName, PcId } from './ids.js';

const duration = (min: number, max: number) =>
  z.string().refine(
    (s) => {
      try {
        const ms = parseDuration(s);
        return ms >= min && ms <= max;
      } catch {
        return false;
      }
    },
    { error: `must be a duration between ${min / 1000}s and ${max / 1000}s, like "15s" or "2m"` },
  );

/** One layer as stored: every field optional, unknown fields rejected (typos must not pass). */
export const AgentConfigLayer = z.strictObject({
  /** How often the agent reports presence. Default `15s`. */
  heartbeat_interval: duration(1_000, 3_600_000).optional(),
  /** Scripts run at the same time on one agent. Default 4. */
  concurrency: z.int().min(1).max(256).optional(),
  /** Bytes of stdout (and of stderr) kept per run; more is counted as dropped. Default 256 MiB. */
  max_output_bytes: z
    .int()
    .min(1024)
    .max(4 * 1024 * 1024 * 1024)
    .optional(),
  /** Publish live output chunks on `out.<pc>.<request>` while a script runs. Default true. */
  live_output: z.boolean().optional(),
  /** Time between SIGTERM and SIGKILL when a script is stopped. Default `5s`. */
  kill_grace: duration(0, 600_000).optional(),
  /**
   * The agent release (`baton agent-release put`) agents should run; they update or downgrade to
   * it. Default none (`''`): agents keep the version they run.
   */
  target_version: AgentReleaseVersion.optional(),
  /** An agent starts its update after a random delay of 0..this, so a fleet spreads out. Default `5m`. */
  update_jitter: duration(0, 86_400_000).optional(),
});
export type AgentConfigLayer = z.infer<typeof AgentConfigLayer>;
export type AgentConfigKey = keyof AgentConfigLayer;

/** Every key with its default, written once. */
export const AGENT_CONFIG_DEFAULTS: Required<AgentConfigLayer> = {
  heartbeat_interval: '15s',
  concurrency: 4,
  max_output_bytes: 256 * 1024 * 1024,
  live_output: true,
  kill_grace: '5s',
  target_version: '',
  update_jitter: '5m',
};

/** The merged config as the agent uses it (durations in ms). */
export type AgentConfig = {
  heartbeatIntervalMs: number;
  concurrency: number;
  maxOutputBytes: number;
  liveOutput: boolean;
  killGraceMs: number;
  /** null: no target, the agent keeps its version. */
  targetVersion: string | null;
  updateJitterMs: number;
};

export function resolveAgentConfig(merged: Required<AgentConfigLayer>): AgentConfig {
  return {
    heartbeatIntervalMs: parseDuration(merged.heartbeat_interval),
    concurrency: merged.concurrency,
    maxOutputBytes: merged.max_output_bytes,
    liveOutput: merged.live_output,
    killGraceMs: parseDuration(merged.kill_grace),
    targetVersion: merged.target_version === '' ? null : merged.target_version,
    updateJitterMs: parseDuration(merged.update_jitter),
  };
}

/** A config scope as a KV key: `global`, `groups.<g>`, `pcs.<pc>`. */
export type ConfigScope =
  { kind: 'global' } | { kind: 'group'; group: string } | { kind: 'pc'; pcId: string };

/** Parses `global`, `group:<name>` or `pc:<id>`; null when it is none of them (callers say so). */
export function parseConfigScope(raw: string): ConfigScope | null {
  if (raw === 'global') return { kind: 'global' };
  const i = raw.indexOf(':');
  const [kind, name] = [raw.slice(0, i), raw.slice(i + 1)];
  if (kind === 'group' && GroupName.safeParse(name).success) return { kind: 'group', group: name };
  if (kind === 'pc' && PcId.safeParse(name).success) return { kind: 'pc', pcId: name };
  return null;
}

/** The rule of {@link parseConfigScope}, for error messages. */
export const CONFIG_SCOPE_RULE = 'use global, group:<name> or pc:<id>';

export function scopeKey(scope: ConfigScope): string {
  switch (scope.kind) {
    case 'global':
      return 'global';
    case 'group':
      return `groups.${scope.group}`;
    case 'pc':
      return `pcs.${scope.pcId}`;
    default: {
      const never: never = scope;
      throw new Error(`unknown scope ${JSON.stringify(never)}`);
    }
  }
}

/**
 * Merges layers per field: defaults, `global`, each group (in name order), then the pc.
 * Returns the merged values and, per key, the layer it came from (`default`, `global`, `groups.x`, `pcs.y`).
 */
export function mergeAgentConfig(layers: readonly { key: string; layer: AgentConfigLayer }[]): {
  values: Required<AgentConfigLayer>;
  sources: Record<AgentConfigKey, string>;
} {
  const values = { ...AGENT_CONFIG_DEFAULTS };
  const sources = Object.fromEntries(Object.keys(AGENT_CONFIG_DEFAULTS).map((k) => [k, 'default'])) as Record<
    AgentConfigKey,
    string
  >;
  for (const { key, layer } of layers) {
    for (const [k, v] of Object.entries(layer) as [AgentConfigKey, unknown][]) {
      if (v === undefined) continue;
      (values as Record<string, unknown>)[k] = v;
      sources[k] = key;
    }
  }
  return { values, sources };
}

/** The layer keys that apply to a pc, in merge order. */
export function layerKeysFor(pcId: string, groups: readonly string[]): string[] {
  return ['global', ...[...groups].sort().map((g) => `groups.${g}`), `pcs.${pcId}`];
}
