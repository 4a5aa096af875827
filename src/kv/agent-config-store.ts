// The `agent_config` bucket: layered agent config (wire/agent-config.ts) read, written with
// compare-and-swap, and merged for one pc.
import type { NatsConnection } from '@nats-io/transport-node';
import { Kvm, type KV } from '@nats-io/kv';
import {
  AgentConfigLayer,
  layerKeysFor,
  mergeAgentConfig,
  resolveAgentConfig,
  type AgentConfig,
  type AgentConfigKey,
} from '../wire/index.js';
import { BUCKETS } from './names.js';
import { ConflictError, isRevisionMismatch } from './errors.js';

const decoder = new TextDecoder();

export type EffectiveConfig = {
  values: Required<AgentConfigLayer>;
  sources: Record<AgentConfigKey, string>;
  resolved: AgentConfig;
  /** Layers that exist but could not be read (kept out of the merge, reported). */
  invalid: { key: string; error: string }[];
};

export class AgentConfigStore {
  private constructor(readonly kv: KV) {}

  /** `direct`: key-scoped direct gets, as an agent's permissions require (see AgentDirectory.open). */
  static async open(nc: NatsConnection, opts: { direct?: boolean } = {}): Promise<AgentConfigStore> {
    return new AgentConfigStore(
      await new Kvm(nc).open(BUCKETS.agentConfig, opts.direct ? { allow_direct: true } : {}),
    );
  }

  /** One layer with its revision; an absent key is an empty layer with revision null. */
  async layer(key: string): Promise<{ layer: AgentConfigLayer; revision: number | null }> {
    const e = await this.kv.get(key);
    if (!e || e.operation !== 'PUT') return { layer: {}, revision: e?.revision ?? null };
    return { layer: AgentConfigLayer.parse(JSON.parse(decoder.decode(e.value))), revision: e.revision };
  }

  /** The merged config of a pc in its groups, with where each value comes from. */
  async effective(pcId: string, groups: readonly string[]): Promise<EffectiveConfig> {
    const layers: { key: string; layer: AgentConfigLayer }[] = [];
    const invalid: { key: string; error: string }[] = [];
    for (const key of layerKeysFor(pcId, groups)) {
      try {
        layers.push({ key, layer: (await this.layer(key)).layer });
      } catch (err) {
        invalid.push({ key, error: (err as Error).message });
      }
    }
    const merged = mergeAgentConfig(layers);
    return { ...merged, resolved: resolveAgentConfig(merged.values), invalid };
  }

  /**
   * Sets (value defined) or removes (undefined) fields of one layer, conditional on the revision
   * it read. Returns [revision before, revision after]. Validates the whole layer.
   */
  async update(
    key: string,
    changes: Partial<Record<AgentConfigKey, unknown>>,
  ): Promise<[number | null, number]> {
    const { layer, revision } = await this.layer(key);
    const next: Record<string, unknown> = { ...layer };
    for (const [k, v] of Object.entries(changes)) {
      if (v === undefined) delete next[k];
      else next[k] = v;
    }
    const data = new TextEncoder().encode(JSON.stringify(AgentConfigLayer.parse(next)));
    try {
      const after =
        revision === null ? await this.kv.create(key, data) : await this.kv.update(key, data, revision);
      return [revision, after];
    } catch (err) {
      if (!isRevisionMismatch(err)) throw err;
      throw new ConflictError(`agent config '${key}' changed concurrently; try again`, { cause: err });
    }
  }
}
