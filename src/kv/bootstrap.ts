// The idempotent topology bootstrap: creates every missing resource and reconciles the fields baton
// manages on existing ones. Running it twice changes nothing the second time.
import type { NatsConnection } from '@nats-io/transport-node';
import {
  DiscardPolicy,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  jetstreamManager,
  type JetStreamManager,
  type StreamConfig,
  type StreamInfo,
} from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { Objm } from '@nats-io/obj';
import { topologySpec, type ManagedFields, type ResourceSpec, type TopologyOptions } from './topology.js';

export type ResourceChange = {
  kind: ResourceSpec['kind'];
  name: string;
  stream: string;
  action: 'created' | 'updated' | 'unchanged';
  /** One line per reconciled field: `max_bytes: 1048576 -> 2097152`. */
  changes: string[];
};

export class TopologyError extends Error {
  override name = 'TopologyError';
}

/** Stream info, or null when the stream does not exist. */
export async function streamInfoOrNull(jsm: JetStreamManager, stream: string): Promise<StreamInfo | null> {
  try {
    return await jsm.streams.info(stream);
  } catch (err) {
    if (err instanceof JetStreamApiError && err.status === 404) return null;
    throw err;
  }
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/** The managed fields that differ between what the server has and what the spec wants. */
export function diffFields(have: Partial<StreamConfig>, want: ManagedFields): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(want)) {
    const current = (have as Record<string, unknown>)[key];
    if (!sameValue(current, value))
      out.push(`${key}: ${JSON.stringify(current)} -> ${JSON.stringify(value)}`);
  }
  return out;
}

async function create(nc: NatsConnection, jsm: JetStreamManager, spec: ResourceSpec): Promise<void> {
  const f = spec.fields;
  switch (spec.kind) {
    case 'stream':
      await jsm.streams.add({
        name: spec.stream,
        ...f,
        discard: f.discard === 'new' ? DiscardPolicy.New : DiscardPolicy.Old,
        retention: RetentionPolicy.Limits,
        storage: StorageType.File,
      });
      return;
    case 'kv':
      await new Kvm(nc).create(spec.name, {
        history: f.max_msgs_per_subject ?? 1,
        max_bytes: f.max_bytes,
        replicas: f.num_replicas,
        description: f.description,
        storage: StorageType.File,
      });
      return;
    case 'object':
      await new Objm(nc).create(spec.name, {
        max_bytes: f.max_bytes,
        ttl: f.max_age,
        replicas: f.num_replicas,
        description: f.description,
        storage: StorageType.File,
      });
      return;
    default: {
      const never: never = spec.kind;
      throw new TopologyError(`unknown resource kind ${String(never)}`);
    }
  }
}

/** Creates or reconciles one resource. */
export async function ensureResource(
  nc: NatsConnection,
  jsm: JetStreamManager,
  spec: ResourceSpec,
): Promise<ResourceChange> {
  const base = { kind: spec.kind, name: spec.name, stream: spec.stream };
  try {
    let info = await streamInfoOrNull(jsm, spec.stream);
    let action: ResourceChange['action'] = 'unchanged';
    if (!info) {
      await create(nc, jsm, spec);
      action = 'created';
      info = await jsm.streams.info(spec.stream);
    }
    let changes = diffFields(info.config, spec.fields);
    if (changes.length > 0) {
      try {
        await jsm.streams.update(spec.stream, { ...info.config, ...spec.fields });
      } catch (err) {
        // nats-server 2.10 cannot change max_consumers of an existing stream (it has no default
        // cap to lift either): reconcile everything else and say so.
        if (!/can not change MaxConsumers/i.test((err as Error).message)) throw err;
        const keep: ManagedFields = { ...spec.fields, max_consumers: info.config.max_consumers };
        await jsm.streams.update(spec.stream, { ...info.config, ...keep });
        changes = changes.map((c) =>
          c.startsWith('max_consumers:')
            ? `${c} not applied: this nats-server cannot change it on an existing stream`
            : c,
        );
      }
      // A change the server cannot apply is reported, but does not make the resource "updated"
      // on every run.
      if (action === 'unchanged' && changes.some((c) => !c.includes(' not applied: '))) action = 'updated';
    }
    return { ...base, action, changes: action === 'created' ? [] : changes };
  } catch (err) {
    throw new TopologyError(
      `cannot set up ${spec.kind} '${spec.name}' (stream ${spec.stream}): ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

/**
 * Creates every stream, KV bucket and object store of DESIGN.md that is missing and reconciles the
 * managed fields (limits, subjects, replicas, history) of those that drifted. Returns one entry per
 * resource saying what was done.
 */
export async function ensureTopology(
  nc: NatsConnection,
  opts: TopologyOptions = {},
): Promise<ResourceChange[]> {
  const jsm = await jetstreamManager(nc);
  const out: ResourceChange[] = [];
  for (const spec of topologySpec(opts)) out.push(await ensureResource(nc, jsm, spec));
  return out;
}
