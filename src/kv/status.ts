import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { streamInfoOrNull } from './bootstrap.js';
import { topologySpec, type ResourceSpec, type TopologyOptions } from './topology.js';

export type ResourceStatus = {
  kind: ResourceSpec['kind'];
  name: string;
  stream: string;
  exists: boolean;
  messages: number;
  bytes: number;
  maxBytes: number;
  /** bytes / maxBytes as a percentage with one decimal; null without a byte limit. */
  usedPercent: number | null;
  maxAgeMs: number;
  replicas: number;
  consumers: number;
};

/** Usage of every resource of the topology against its limits, as the server reports it. */
export async function topologyStatus(
  nc: NatsConnection,
  opts: TopologyOptions = {},
): Promise<ResourceStatus[]> {
  const jsm = await jetstreamManager(nc);
  const out: ResourceStatus[] = [];
  for (const spec of topologySpec(opts)) {
    const info = await streamInfoOrNull(jsm, spec.stream);
    const maxBytes = info?.config.max_bytes ?? spec.fields.max_bytes;
    const bytes = info?.state.bytes ?? 0;
    out.push({
      kind: spec.kind,
      name: spec.name,
      stream: spec.stream,
      exists: info !== null,
      messages: info?.state.messages ?? 0,
      bytes,
      maxBytes,
      usedPercent: maxBytes > 0 ? Math.round((bytes / maxBytes) * 1000) / 10 : null,
      maxAgeMs: Math.round((info?.config.max_age ?? spec.fields.max_age) / 1_000_000),
      replicas: info?.config.num_replicas ?? spec.fields.num_replicas,
      consumers: info?.state.consumer_count ?? 0,
    });
  }
  return out;
}
