// Agent identities: enrollment tokens (operator), the public enrollment exchange an agent calls on
// first start (token + its public key -> its user JWT), revocation (admin), and the keys issued to
// a pc. Needs the deployment's NATS authority (BackendIdentity); without it the routes that sign
// or revoke answer 503. docs/security.md.
import { z } from 'zod';
import { GroupName, PcId, parseDuration } from '../wire/index.js';
import { AgentIdentities, EnrollmentError, type Authority } from '../kv/index.js';
import type { NatsConnection } from '@nats-io/transport-node';
import { api, apiMeta, type BackendDeps } from './deps.js';
import { HttpError, badRequest, notFound, type Route } from './http.js';

/** What the backend needs to sign agent credentials and to revoke them. */
export type BackendIdentity = {
  authority: Authority;
  /** Runs `fn` with a connection as the system user (pushes account updates). */
  withSystem<T>(fn: (nc: NatsConnection) => Promise<T>): Promise<T>;
};

const Pc = z.object({ pc: PcId });

function identityOr503(deps: BackendDeps): BackendIdentity {
  if (deps.identity) return deps.identity;
  throw new HttpError(
    503,
    'identity_unavailable',
    'agent identities are not configured on this backend (start it with --authority <dir>; `baton up` does)',
  );
}

export const identityRoutes: Route<BackendDeps>[] = [
  api({
    method: 'POST', path: '/api/enroll', role: null, tag: 'agents',
    body: z.strictObject({ token: z.string().max(200), publicKey: z.string().regex(/^U[A-Z2-7]{55}$/, { error: 'must be a NATS user public key (U followed by 55 base32 characters)' }) }),
    summary: 'an agent exchanges a one-time enrollment token and its public key for its NATS user JWT (receipt agent.enroll); 429 after 5 refused tokens a minute per address',
    async handle({ body, deps, ip }) {
      // Only refused tokens count: a fleet behind one address may enroll hundreds of endpoints at once.
      const key = `${ip}|enroll`;
      const wait = deps.limiter.wait(key);
      if (wait > 0) throw new HttpError(429, 'too_many_requests', `too many refused enrollment tokens; retry in ${wait} s`, { retryAfter: wait });
      const id = identityOr503(deps);
      try {
        return await (await AgentIdentities.open(deps.nc)).redeem(id.authority, body);
      } catch (err) {
        if (!(err instanceof EnrollmentError)) throw err;
        deps.limiter.hit(key);
        throw new HttpError(403, 'enrollment_refused', err.message);
      }
    },
  }),
  api({
    method: 'POST', path: '/api/agents/:pc/enrollments', role: 'operator', tag: 'agents', params: Pc,
    body: z.strictObject({ groups: z.array(GroupName).max(100).nullable().optional(), ttl: z.string().max(20).optional() }),
    summary: 'a one-time enrollment token for a pc (shown once; default valid 24h) with the groups it joins (receipt agent.enroll_token)',
    async handle({ params, body, deps, caller }) {
      let ttlMs: number | undefined;
      if (body.ttl !== undefined) {
        try {
          ttlMs = parseDuration(body.ttl);
        } catch (err) {
          throw badRequest((err as Error).message, { issues: [{ path: 'body.ttl', message: (err as Error).message }] });
        }
      }
      const ids = await AgentIdentities.open(deps.nc);
      return ids.createEnrollment({ pcId: params.pc, groups: body.groups ?? null, ...(ttlMs ? { ttlMs } : {}) }, apiMeta(caller));
    },
  }),
  api({
    method: 'GET', path: '/api/agents/:pc/identity', role: 'viewer', tag: 'agents', params: Pc,
    summary: 'the NATS keys issued to a pc, when, by whom, and which are revoked',
    async handle({ params, deps }) {
      const found = await (await AgentIdentities.open(deps.nc)).identity(params.pc);
      if (!found) throw notFound(`no agent identity for '${params.pc}' (never enrolled)`);
      return found;
    },
  }),
  api({
    method: 'POST', path: '/api/agents/:pc/revoke', role: 'admin', tag: 'agents', params: Pc,
    summary: "revoke a pc's NATS identity: the server disconnects it and refuses it from then on; its exec consumer is deleted (receipt agent.revoke)",
    async handle({ params, deps, caller }) {
      const id = identityOr503(deps);
      const ids = await AgentIdentities.open(deps.nc);
      return id.withSystem((sys) => ids.revoke(id.authority, sys, params.pc, apiMeta(caller)));
    },
  }),
]; // prettier-ignore
