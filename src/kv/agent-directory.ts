// Who is in the fleet: the `agents_state` bucket (written by agents) and `agent_groups` (written by
// operators). Used to resolve a target to the endpoints an execution expects answers from.
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { z } from 'zod';
import { GroupName, parseAgentState, type AgentState, type ExecTarget } from '../wire/index.js';
import { BUCKETS } from './names.js';
import { ConflictError, isRevisionMismatch } from './errors.js';
import { ensureExecConsumer } from './agent-consumer.js';

/** The value of an `agent_groups` key: the pc's group names, sorted, no duplicates. */
export const GroupList = z.array(GroupName);

const decoder = new TextDecoder();

export class AgentDirectory {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly states: KV,
    private readonly groups: KV,
  ) {}

  /**
   * `direct`: read keys with direct gets scoped by key (`$JS.API.DIRECT.GET.<stream>.<subject>`),
   * which is what an agent's permissions allow. Direct gets may be served by any replica, so the
   * platform's read-then-compare-and-swap flows keep the default (leader reads). Default false.
   */
  static async open(nc: NatsConnection, opts: { direct?: boolean } = {}): Promise<AgentDirectory> {
    const kvm = new Kvm(nc);
    const o = opts.direct ? { allow_direct: true } : {};
    return new AgentDirectory(
      nc,
      await kvm.open(BUCKETS.agentsState, o),
      await kvm.open(BUCKETS.agentGroups, o),
    );
  }

  /**
   * Every agent that ever reported state; unreadable entries are skipped (and counted). Read with
   * one watch (the latest value of every key, streamed), not keys() + a get per key: resolving
   * `all` for 1,000 agents took about 0.5 s of round trips that way (docs/benchmarks.md).
   */
  async list(): Promise<{ agents: AgentState[]; invalid: string[] }> {
    const agents: AgentState[] = [];
    const invalid: string[] = [];
    if ((await this.states.status()).values > 0) {
      const w = await this.states.watch();
      try {
        for await (const e of w) {
          if (e.operation === 'PUT') {
            try {
              agents.push(parseAgentState(e.value));
            } catch {
              invalid.push(e.key);
            }
          }
          if (e.delta === 0) break; // the last of the values that existed when the watch began
        }
      } finally {
        w.stop();
      }
    }
    return { agents: agents.sort((a, b) => a.pcId.localeCompare(b.pcId)), invalid };
  }

  /** The group memberships of a pc, with the KV revision (null when never set). */
  async groupsOf(pcId: string): Promise<{ groups: string[]; revision: number | null }> {
    const e = await this.groups.get(pcId);
    if (!e || e.operation !== 'PUT') return { groups: [], revision: e?.revision ?? null };
    return { groups: GroupList.parse(JSON.parse(decoder.decode(e.value))), revision: e.revision };
  }

  /** Every pc's groups (pcs with a membership entry). */
  async allGroups(): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    for await (const key of await this.groups.keys()) out.set(key, (await this.groupsOf(key)).groups);
    return out;
  }

  /**
   * Sets a pc's groups with compare-and-swap on `expectedRevision` (null: expect no entry).
   * Returns the new revision.
   */
  async setGroups(pcId: string, groups: readonly string[], expectedRevision: number | null): Promise<number> {
    const value = new TextEncoder().encode(JSON.stringify(GroupList.parse([...new Set(groups)].sort())));
    let revision: number;
    try {
      revision =
        expectedRevision === null
          ? await this.groups.create(pcId, value)
          : await this.groups.update(pcId, value, expectedRevision);
    } catch (err) {
      if (!isRevisionMismatch(err)) throw err;
      throw new ConflictError(`the groups of '${pcId}' changed concurrently; try again`, { cause: err });
    }
    // The platform moves the agent's consumer filters (the agent may not: docs/security.md).
    await ensureExecConsumer(await jetstreamManager(this.nc), pcId, groups);
    return revision;
  }

  /**
   * The pcs an execution on `targets` expects answers from: every known agent for `all`, the
   * members of each group, and each named pc (known or not: it may be offline and catch up).
   */
  async resolve(targets: readonly ExecTarget[]): Promise<string[]> {
    const pcs = new Set<string>();
    const needAll = targets.some((t) => t.kind === 'all');
    const needGroups = targets.some((t) => t.kind === 'group');
    const known = needAll || needGroups ? (await this.list()).agents : [];
    const memberships = needGroups ? await this.allGroups() : new Map<string, string[]>();
    for (const t of targets) {
      switch (t.kind) {
        case 'all':
          for (const a of known) pcs.add(a.pcId);
          break;
        case 'group':
          for (const [pc, groups] of memberships) if (groups.includes(t.group)) pcs.add(pc);
          break;
        case 'pc':
          pcs.add(t.pcId);
          break;
        default: {
          const never: never = t;
          throw new Error(`unknown target ${JSON.stringify(never)}`);
        }
      }
    }
    return [...pcs].sort();
  }
}
