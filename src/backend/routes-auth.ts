// Health, login/logout/me, users and tokens.
import { z } from 'zod';
import { ROLES, Role, UserName, publishAudit } from '../kv/index.js';
import { clearedCookie, cookies, SESSION_COOKIE, sessionCookie } from './auth.js';
import { api, apiMeta } from './deps.js';
import { HttpError, Reply, type Route } from './http.js';
import type { BackendDeps } from './deps.js';

const Login = z.strictObject({ username: z.string().min(1).max(64), password: z.string().min(1).max(1024) });
const NewUser = z.strictObject({
  name: UserName,
  role: Role,
  password: z.string().min(12, { error: 'must be at least 12 characters' }).max(1024),
});
const NewToken = z.strictObject({
  label: z.string().min(1).max(200),
  /** Default: the caller. */
  user: UserName.optional(),
  role: Role.default('viewer'),
  expiresAt: z.iso.datetime().nullable().optional(),
});

export const authRoutes: Route<BackendDeps>[] = [
  api({
    method: 'GET', path: '/api/health', role: null, tag: 'auth',
    summary: 'liveness: the process answers and whether NATS is reachable (no auth)',
    async handle({ deps }) {
      const nats = await Promise.race([
        deps.nc.flush().then(() => true, () => false),
        new Promise<boolean>((r) => setTimeout(() => r(false), 1_000).unref()),
      ]);
      return { ok: nats, nats, version: deps.options.version };
    },
  }),
  api({
    method: 'POST', path: '/api/login', role: null, tag: 'auth', body: Login,
    summary: 'log in: sets an HttpOnly SameSite=Strict session cookie; 429 after 5 attempts a minute',
    async handle({ body, deps, ip }) {
      const wait = deps.limiter.hit(`${ip}|${body.username}`);
      if (wait > 0)
        throw new HttpError(429, 'too_many_requests', `too many login attempts for '${body.username}'; retry in ${wait} s`, { retryAfter: wait });
      const user = await deps.auth.checkPassword(body.username, body.password);
      if (!user) throw new HttpError(401, 'unauthorized', 'wrong user name or password');
      const o = deps.options;
      const sid = await deps.auth.createSession(user.name, o.sessionTtlMs);
      return new Reply(200, { user: { name: user.name, role: user.role } }, {
        'set-cookie': sessionCookie(sid, o.sessionTtlMs, o.secureCookies),
      });
    },
  }),
  api({
    method: 'POST', path: '/api/logout', role: 'viewer', tag: 'auth',
    summary: 'end the session of the cookie',
    async handle({ req, deps }) {
      const sid = cookies(req).get(SESSION_COOKIE);
      if (sid) await deps.auth.deleteSession(sid);
      return new Reply(200, { ok: true }, { 'set-cookie': clearedCookie });
    },
  }),
  api({
    method: 'GET', path: '/api/me', role: 'viewer', tag: 'auth',
    summary: 'the caller: user name, role, and whether by session or token',
    async handle({ caller }) {
      return { user: { name: caller.user, role: caller.role }, via: caller.via, roles: ROLES };
    },
  }),
  api({
    method: 'GET', path: '/api/users', role: 'admin', tag: 'auth', summary: 'every user (no password hashes)',
    async handle({ deps }) {
      return { items: await deps.auth.users() };
    },
  }),
  api({
    method: 'POST', path: '/api/users', role: 'admin', tag: 'auth', body: NewUser,
    summary: 'create a user (receipt user.create); 409 when the name is taken',
    async handle({ body, deps, caller }) {
      const user = await deps.auth.createUser(body, caller.user);
      const receipt = await publishAudit(deps.nc, {
        ...apiMeta(caller), action: 'user.create', target: { kind: 'user', id: user.name },
        revisionBefore: null, revisionAfter: user.revision,
        summary: `created user ${user.name} (${user.role})`, details: { role: user.role },
      });
      return new Reply(201, { user, receiptId: receipt.id });
    },
  }),
  api({
    method: 'DELETE', path: '/api/users/:name', role: 'admin', tag: 'auth', params: z.object({ name: UserName }),
    summary: 'delete a user and its tokens (receipt user.delete)',
    async handle({ params, deps, caller }) {
      if (params.name === caller.user) throw new HttpError(409, 'conflict', 'you cannot delete yourself');
      const { revision, tokens } = await deps.auth.deleteUser(params.name);
      await publishAudit(deps.nc, {
        ...apiMeta(caller), action: 'user.delete', target: { kind: 'user', id: params.name },
        revisionBefore: revision, revisionAfter: null,
        summary: `deleted user ${params.name} and ${tokens.length} tokens`, details: { tokens },
      });
      return { name: params.name, deleted: true, tokens };
    },
  }),
  api({
    method: 'GET', path: '/api/tokens', role: 'admin', tag: 'auth', summary: 'every API token (never the secret)',
    async handle({ deps }) {
      return { items: await deps.auth.tokens() };
    },
  }),
  api({
    method: 'POST', path: '/api/tokens', role: 'admin', tag: 'auth', body: NewToken,
    summary: 'create an API token; the token string is in this answer only (receipt token.create)',
    async handle({ body, deps, caller }) {
      const { token, record } = await deps.auth.createToken(
        { user: body.user ?? caller.user, role: body.role, label: body.label, expiresAt: body.expiresAt ?? null },
        caller.user,
      );
      const receipt = await publishAudit(deps.nc, {
        ...apiMeta(caller), action: 'token.create', target: { kind: 'token', id: record.id },
        revisionBefore: null, revisionAfter: record.revision,
        summary: `created token ${record.id} '${record.label}' for ${record.user} (${record.role})`.slice(0, 300),
        details: { user: record.user, role: record.role, label: record.label },
      });
      return new Reply(201, { token, record, receiptId: receipt.id });
    },
  }),
  api({
    method: 'DELETE', path: '/api/tokens/:id', role: 'admin', tag: 'auth', params: z.object({ id: z.string() }),
    summary: 'revoke an API token (receipt token.delete)',
    async handle({ params, deps, caller }) {
      const t = await deps.auth.deleteToken(params.id);
      await publishAudit(deps.nc, {
        ...apiMeta(caller), action: 'token.delete', target: { kind: 'token', id: t.id },
        revisionBefore: t.revision, revisionAfter: null,
        summary: `revoked token ${t.id} '${t.label}' of ${t.user}`.slice(0, 300), details: { user: t.user },
      });
      return { id: t.id, deleted: true };
    },
  }),
]; // prettier-ignore
