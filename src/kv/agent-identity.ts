// Agent identities: one-time enrollment tokens, the credentials an agent gets for one, and
// revocation. Records live in the `auth` bucket beside users and API tokens:
// `enroll.<sha256 of the token>` (pending enrollments; the token itself is shown once) and
// `agents.<pc_id>` (the public keys issued to a pc, and when each was revoked).
//
// Enrollment: the agent makes its own key pair, keeps the seed, and sends the public key with the
// token (POST /api/enroll). The backend deletes the token record with compare-and-swap (so a token
// works once, even when two agents race with it), sets the pc's groups, creates its EXEC consumer,
// and returns a user JWT signed by the account signing key with the pc's permissions. The seed
// never leaves the endpoint.
import { createHash, randomBytes } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { z } from 'zod';
import { GroupName, PcId, type AuditActor, type AuditSource } from '../wire/index.js';
import { BUCKETS, STREAMS } from './names.js';
import { ConflictError, NotFoundError, isRevisionMismatch } from './errors.js';
import { AgentDirectory } from './agent-directory.js';
import { consumerName, ensureExecConsumer } from './agent-consumer.js';
import { agentPermissions } from './permissions.js';
import { publishAudit } from './audit-log.js';
import { pushAccountJwt, type Authority } from './authority.js';

/** `bte_<43 base64url characters>`: 256 random bits. */
const ENROLL_TOKEN = /^bte_[A-Za-z0-9_-]{43}$/;
/** How long an enrollment token is valid unless `--ttl` says otherwise. */
export const DEFAULT_ENROLL_TTL_MS = 24 * 3600_000;

export const StoredEnrollment = z.object({
  pcId: PcId,
  groups: z.array(GroupName).nullable(),
  createdAt: z.string(),
  createdBy: z.string(),
  expiresAt: z.string(),
});
export type StoredEnrollment = z.infer<typeof StoredEnrollment>;

export const IssuedKey = z.object({
  publicKey: z.string(),
  issuedAt: z.string(),
  issuedBy: z.string(),
  revokedAt: z.string().nullable(),
});
export const StoredAgentIdentity = z.object({ pcId: PcId, keys: z.array(IssuedKey) });
export type StoredAgentIdentity = z.infer<typeof StoredAgentIdentity>;

export class EnrollmentError extends Error {
  override name = 'EnrollmentError';
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const enc = new TextEncoder();
const dec = new TextDecoder();

type Door = { actor: AuditActor; source: AuditSource };

export class AgentIdentities {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly kv: KV,
  ) {}

  static async open(nc: NatsConnection): Promise<AgentIdentities> {
    return new AgentIdentities(nc, await new Kvm(nc).open(BUCKETS.auth));
  }

  async #read<T>(key: string, schema: z.ZodType<T>): Promise<{ value: T; revision: number } | null> {
    const e = await this.kv.get(key);
    if (!e || e.operation !== 'PUT') return null;
    return { value: schema.parse(JSON.parse(dec.decode(e.value))), revision: e.revision };
  }

  /** The keys issued to a pc; null when it was never enrolled. */
  async identity(pcId: string): Promise<StoredAgentIdentity | null> {
    return (await this.#read(`agents.${pcId}`, StoredAgentIdentity))?.value ?? null;
  }

  /** A one-time token for `pcId`, valid for `ttlMs`. The token is returned once and stored hashed. */
  async createEnrollment(
    input: { pcId: string; groups: string[] | null; ttlMs?: number },
    door: Door,
    now = new Date(),
  ): Promise<{ token: string; expiresAt: string }> {
    const pcId = PcId.parse(input.pcId);
    const groups = input.groups ? z.array(GroupName).parse(input.groups) : null;
    const token = `bte_${randomBytes(32).toString('base64url')}`;
    const expiresAt = new Date(now.getTime() + (input.ttlMs ?? DEFAULT_ENROLL_TTL_MS)).toISOString();
    const value: StoredEnrollment = {
      pcId, groups, createdAt: now.toISOString(), createdBy: door.actor.name, expiresAt,
    }; // prettier-ignore
    const revision = await this.kv.create(`enroll.${sha256(token)}`, enc.encode(JSON.stringify(value)));
    await publishAudit(this.nc, {
      ...door, action: 'agent.enroll_token', target: { kind: 'pc', id: pcId },
      revisionBefore: null, revisionAfter: revision,
      summary: `created an enrollment token for ${pcId} (expires ${expiresAt})`,
      details: { groups, expiresAt },
    }); // prettier-ignore
    return { token, expiresAt };
  }

  /**
   * Exchanges a token for the pc's credentials: a user JWT for `publicKey`. Consumes the token
   * (compare-and-swap delete: it works once), sets the pc's groups when the token carries them,
   * makes sure the pc's EXEC consumer exists, records the key and leaves a receipt.
   */
  async redeem(
    authority: Authority,
    input: { token: string; publicKey: string },
    now = new Date(),
  ): Promise<{ pcId: string; jwt: string; groups: string[] }> {
    if (!ENROLL_TOKEN.test(input.token)) throw new EnrollmentError('not an enrollment token (bte_...)');
    const key = `enroll.${sha256(input.token)}`;
    const stored = await this.#read(key, StoredEnrollment);
    if (!stored) throw new EnrollmentError('unknown or already used enrollment token');
    try {
      await this.kv.delete(key, { previousSeq: stored.revision });
    } catch (err) {
      if (isRevisionMismatch(err)) throw new EnrollmentError('unknown or already used enrollment token');
      throw err;
    }
    const { pcId, groups: wanted, expiresAt } = stored.value;
    if (Date.parse(expiresAt) <= now.getTime()) {
      throw new EnrollmentError(`the enrollment token for ${pcId} expired at ${expiresAt}`);
    }
    const jwt = await authority.userJwt(`agent:${pcId}`, input.publicKey, agentPermissions(pcId), [
      'baton:agent',
      `pc:${pcId}`,
    ]);
    const dir = await AgentDirectory.open(this.nc);
    const current = await dir.groupsOf(pcId);
    const groups = wanted ?? current.groups;
    if (wanted) await dir.setGroups(pcId, wanted, current.revision);
    else await ensureExecConsumer(await jetstreamManager(this.nc), pcId, groups);
    const revision = await this.#recordKey(pcId, input.publicKey, stored.value.createdBy, now);
    await publishAudit(this.nc, {
      actor: { kind: 'agent', name: pcId }, action: 'agent.enroll', target: { kind: 'pc', id: pcId },
      revisionBefore: null, revisionAfter: revision, source: { via: 'api' },
      summary: `enrolled ${pcId} (key ${input.publicKey.slice(0, 12)}...; token by ${stored.value.createdBy})`,
      details: { publicKey: input.publicKey, groups },
    }); // prettier-ignore
    return { pcId, jwt, groups };
  }

  /**
   * Issues credentials to a pc directly, without a token (`baton up` does this for the agent of
   * its own machine). Returns the creds file content.
   */
  async issue(authority: Authority, pcId: string, door: Door, now = new Date()): Promise<Uint8Array> {
    const user = await authority.newUser(`agent:${pcId}`, agentPermissions(pcId), [
      'baton:agent',
      `pc:${pcId}`,
    ]);
    const dir = await AgentDirectory.open(this.nc);
    await ensureExecConsumer(await jetstreamManager(this.nc), pcId, (await dir.groupsOf(pcId)).groups);
    const revision = await this.#recordKey(pcId, user.publicKey, door.actor.name, now);
    await publishAudit(this.nc, {
      ...door, action: 'agent.enroll', target: { kind: 'pc', id: pcId },
      revisionBefore: null, revisionAfter: revision,
      summary: `issued credentials to ${pcId} (key ${user.publicKey.slice(0, 12)}...)`,
      details: { publicKey: user.publicKey },
    }); // prettier-ignore
    return user.creds;
  }

  async #recordKey(pcId: string, publicKey: string, issuedBy: string, now: Date): Promise<number> {
    for (;;) {
      const cur = await this.#read(`agents.${pcId}`, StoredAgentIdentity);
      const next: StoredAgentIdentity = {
        pcId,
        keys: [
          ...(cur?.value.keys ?? []),
          { publicKey, issuedAt: now.toISOString(), issuedBy, revokedAt: null },
        ],
      };
      try {
        const data = enc.encode(JSON.stringify(next));
        return cur
          ? await this.kv.update(`agents.${pcId}`, data, cur.revision)
          : await this.kv.create(`agents.${pcId}`, data);
      } catch (err) {
        if (!isRevisionMismatch(err)) throw err; // a concurrent enrollment of the same pc: read again
      }
    }
  }

  /**
   * Revokes every key issued to `pcId`: the account JWT gets them in its revocation list and is
   * pushed to the server through `systemNc` (the server disconnects the agent and refuses it from
   * then on), the pc's EXEC consumer is deleted (nothing queues up for it), and a receipt is left.
   */
  async revoke(
    authority: Authority,
    systemNc: NatsConnection,
    pcId: string,
    door: Door,
    now = new Date(),
  ): Promise<{ revokedKeys: string[] }> {
    const cur = await this.#read(`agents.${pcId}`, StoredAgentIdentity);
    if (!cur) throw new NotFoundError(`no agent identity for '${pcId}' (never enrolled)`);
    const live = cur.value.keys.filter((k) => k.revokedAt === null).map((k) => k.publicKey);
    if (live.length === 0) throw new ConflictError(`'${pcId}' is already revoked`);
    await pushAccountJwt(systemNc, await authority.revoke(live, now));
    const next: StoredAgentIdentity = {
      pcId,
      keys: cur.value.keys.map((k) => (k.revokedAt === null ? { ...k, revokedAt: now.toISOString() } : k)),
    };
    const revision = await this.kv.update(`agents.${pcId}`, enc.encode(JSON.stringify(next)), cur.revision);
    const jsm = await jetstreamManager(this.nc);
    await jsm.consumers.delete(STREAMS.exec, consumerName(pcId)).catch(() => false);
    await publishAudit(this.nc, {
      ...door, action: 'agent.revoke', target: { kind: 'pc', id: pcId },
      revisionBefore: cur.revision, revisionAfter: revision,
      summary: `revoked ${pcId} (${live.length} key${live.length === 1 ? '' : 's'})`,
      details: { publicKeys: live },
    }); // prettier-ignore
    return { revokedKeys: live };
  }
}
