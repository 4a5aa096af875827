// Who is calling: a bearer token (`Authorization: Bearer bt_...`, for scripts) or the session
// cookie set by /api/login (for the SPA). Plus the login rate limiter.
import type { IncomingMessage } from 'node:http';
import type { AuthStore } from '../kv/index.js';
import { HttpError, type Caller } from './http.js';

export const SESSION_COOKIE = 'baton_session';

export function cookies(req: IncomingMessage): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  return out;
}

export function sessionCookie(sid: string, maxAgeMs: number, secure: boolean): string {
  const attrs = [`${SESSION_COOKIE}=${sid}`, 'HttpOnly', 'SameSite=Strict', 'Path=/', `Max-Age=${Math.floor(maxAgeMs / 1000)}`];
  if (secure) attrs.push('Secure');
  return attrs.join('; ');
} // prettier-ignore

export const clearedCookie = `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`;

/** The caller, or null without credentials; a 401 for a bad bearer token. */
export async function authenticate(req: IncomingMessage, auth: AuthStore): Promise<Caller | null> {
  const header = req.headers.authorization;
  if (header !== undefined) {
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) throw new HttpError(401, 'unauthorized', "the Authorization header must be 'Bearer <token>'");
    const p = await auth.authenticateToken(m[1]!);
    if (!p) throw new HttpError(401, 'unauthorized', 'the API token is unknown, expired or revoked');
    return p;
  }
  const sid = cookies(req).get(SESSION_COOKIE);
  return sid ? auth.authenticateSession(sid) : null;
}

/**
 * Fixed-window counter of login attempts per key (client address + user name). In memory: each
 * backend replica limits on its own, which bounds guessing to replicas × attempts per window.
 */
export class LoginLimiter {
  #hits = new Map<string, { start: number; n: number }>();

  constructor(
    private readonly attempts: number,
    private readonly windowMs: number,
  ) {}

  /** Counts an attempt; returns the seconds to wait when over the limit, else 0. */
  hit(key: string, now = Date.now()): number {
    if (this.#hits.size > 10_000) this.#prune(now);
    const h = this.#hits.get(key);
    if (!h || now - h.start >= this.windowMs) {
      this.#hits.set(key, { start: now, n: 1 });
      return 0;
    }
    h.n++;
    return h.n > this.attempts ? Math.ceil((h.start + this.windowMs - now) / 1000) : 0;
  }

  /** Seconds to wait before `key` may try again, without counting an attempt; 0 when it may. */
  wait(key: string, now = Date.now()): number {
    const h = this.#hits.get(key);
    if (!h || now - h.start >= this.windowMs || h.n < this.attempts) return 0;
    return Math.ceil((h.start + this.windowMs - now) / 1000);
  }

  #prune(now: number): void {
    for (const [k, h] of this.#hits) if (now - h.start >= this.windowMs) this.#hits.delete(k);
  }
}
