// The `auth` bucket: backend users, API tokens and login sessions, one key family each:
// `users.<name>`, `tokens.<id>`, `sessions.<sha256 of the session id>` (agent enrollment tokens
// and issued keys share the bucket: `enroll.*`, `agents.*`, see agent-identity.ts).
//
// No secret is stored in clear: a password is kept as a scrypt hash (memory-hard; parameters in
// SCRYPT and in the stored string, so they can be raised later without breaking old hashes), a
// token and a session id as their sha256 (they are long random strings, so a fast hash is
// enough). A token is shown once, when it is created.
import {
  createHash,
  randomBytes,
  scrypt as scryptCb,
  timingSafeEqual,
  type ScryptOptions,
} from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import { Kvm, type KV } from '@nats-io/kv';
import { z } from 'zod';
import { BUCKETS } from './names.js';
import { ConflictError, NotFoundError, isRevisionMismatch } from './errors.js';

/** Roles in increasing power: viewer reads, operator runs and edits, admin manages. */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];
export const Role = z.enum(ROLES);

/** True when `have` includes the rights of `need`. */
export const roleAtLeast = (have: Role, need: Role): boolean => ROLES.indexOf(have) >= ROLES.indexOf(need);

/** A user name: 1-64 letters, digits, `_` or `-` (it is part of a KV key). */
export const UserName = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, { error: "must be 1-64 letters, digits, '_' or '-'" });

/** scrypt cost: N = 2^15, r = 8, p = 1 (about 32 MiB and 50-100 ms per hash), 16-byte salt. */
export const SCRYPT = { logN: 15, r: 8, p: 1, keyLen: 32, saltLen: 16 } as const;

const scrypt = (pw: string, salt: Buffer, len: number, opts: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) =>
    scryptCb(pw, salt, len, opts, (err, key) => (err ? reject(err) : resolve(key))),
  );

const scryptOpts = (logN: number, r: number, p: number): ScryptOptions => ({
  N: 2 ** logN,
  r,
  p,
  // Node's default maxmem (32 MiB) is exactly the need of N=2^15, r=8 and fails; leave headroom.
  maxmem: 256 * 2 ** logN * r,
});

/** `scrypt$<logN>$<r>$<p>$<salt base64>$<key base64>`. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SCRYPT.saltLen);
  const key = await scrypt(password, salt, SCRYPT.keyLen, scryptOpts(SCRYPT.logN, SCRYPT.r, SCRYPT.p));
  return ['scrypt', SCRYPT.logN, SCRYPT.r, SCRYPT.p, salt.toString('base64'), key.toString('base64')].join(
    '$',
  );
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [alg, logN, r, p, salt, key] = stored.split('$');
  if (alg !== 'scrypt' || !salt || !key) return false;
  const want = Buffer.from(key, 'base64');
  const got = await scrypt(
    password,
    Buffer.from(salt, 'base64'),
    want.length,
    scryptOpts(Number(logN), Number(r), Number(p)),
  );
  return timingSafeEqual(want, got);
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export const StoredUser = z.object({
  name: UserName,
  role: Role,
  passwordHash: z.string(),
  createdAt: z.string(),
  createdBy: z.string(),
});
export type StoredUser = z.infer<typeof StoredUser>;
export type UserRecord = Omit<StoredUser, 'passwordHash'> & { revision: number };

export const StoredToken = z.object({
  id: z.string(),
  /** What the token is for (`ci`, `backup script`). */
  label: z.string(),
  user: UserName,
  /** The token acts with at most this role (and never more than its user's current role). */
  role: Role,
  sha256: z.string(),
  createdAt: z.string(),
  createdBy: z.string(),
  expiresAt: z.string().nullable(),
});
export type StoredToken = z.infer<typeof StoredToken>;
export type TokenRecord = Omit<StoredToken, 'sha256'> & { revision: number };

const StoredSession = z.object({ user: UserName, createdAt: z.string(), expiresAt: z.string() });

/** Who a token or session authenticates: the user with the role in force. */
export type Principal = { user: string; role: Role; via: 'session' | 'token'; tokenId?: string };

/** `bt_<12 hex id>_<secret>`: the id finds the record, the whole string is hashed. */
const TOKEN = /^bt_([0-9a-f]{12})_[A-Za-z0-9_-]{32,}$/;

const enc = new TextEncoder();
const dec = new TextDecoder();

export class AuthStore {
  #lastSweep = 0;

  private constructor(readonly kv: KV) {}

  static async open(nc: NatsConnection): Promise<AuthStore> {
    return new AuthStore(await new Kvm(nc).open(BUCKETS.auth));
  }

  async #keys(prefix: string): Promise<string[]> {
    const out: string[] = [];
    for await (const k of await this.kv.keys(`${prefix}.>`)) out.push(k);
    return out.sort();
  }

  async #read<T>(key: string, schema: z.ZodType<T>): Promise<{ value: T; revision: number } | null> {
    const e = await this.kv.get(key);
    if (!e || e.operation !== 'PUT') return null;
    return { value: schema.parse(JSON.parse(dec.decode(e.value))), revision: e.revision };
  }

  async #create(key: string, value: unknown, what: string): Promise<number> {
    try {
      return await this.kv.create(key, enc.encode(JSON.stringify(value)));
    } catch (err) {
      if (!isRevisionMismatch(err)) throw err;
      throw new ConflictError(`${what} already exists`, { cause: err });
    }
  }

  async #stored(name: string): Promise<{ value: StoredUser; revision: number } | null> {
    return this.#read(`users.${name}`, StoredUser);
  }

  async users(): Promise<UserRecord[]> {
    const out: UserRecord[] = [];
    for (const key of await this.#keys('users')) {
      const u = await this.#read(key, StoredUser);
      if (u) out.push(withoutHash(u.value, u.revision));
    }
    return out;
  }

  async user(name: string): Promise<UserRecord | null> {
    const u = await this.#stored(name);
    return u && withoutHash(u.value, u.revision);
  }

  /** Creates a user; ConflictError when the name is taken. Returns the record. */
  async createUser(
    input: { name: string; role: Role; password: string },
    createdBy: string,
  ): Promise<UserRecord> {
    const name = UserName.parse(input.name);
    const value: StoredUser = {
      name,
      role: input.role,
      passwordHash: await hashPassword(input.password),
      createdAt: new Date().toISOString(),
      createdBy,
    };
    const revision = await this.#create(`users.${name}`, value, `user '${name}'`);
    return withoutHash(value, revision);
  }

  /** Deletes a user with its tokens (its sessions stop working at their next use). */
  async deleteUser(name: string): Promise<{ revision: number; tokens: string[] }> {
    const u = await this.#stored(name);
    if (!u) throw new NotFoundError(`no user '${name}'`);
    const tokens = (await this.tokens()).filter((t) => t.user === name).map((t) => t.id);
    for (const id of tokens) await this.kv.delete(`tokens.${id}`);
    await this.kv.delete(`users.${name}`, { previousSeq: u.revision });
    return { revision: u.revision, tokens };
  }

  /**
   * The user when the password matches, else null. An unknown name costs one hash too, so
   * response time does not tell which names exist.
   */
  async checkPassword(name: string, password: string): Promise<UserRecord | null> {
    const u = UserName.safeParse(name).success ? await this.#stored(name) : null;
    if (!u) {
      await hashPassword(password);
      return null;
    }
    return (await verifyPassword(password, u.value.passwordHash)) ? withoutHash(u.value, u.revision) : null;
  }

  async tokens(): Promise<TokenRecord[]> {
    const out: TokenRecord[] = [];
    for (const key of await this.#keys('tokens')) {
      const t = await this.#read(key, StoredToken);
      if (t) out.push(tokenRecord(t.value, t.revision));
    }
    return out;
  }

  /** Creates a token; the returned `token` string is the only time the secret is visible. */
  async createToken(
    input: { user: string; role: Role; label: string; expiresAt?: string | null },
    createdBy: string,
  ): Promise<{ token: string; record: TokenRecord }> {
    const user = await this.#stored(input.user);
    if (!user) throw new NotFoundError(`no user '${input.user}'`);
    const id = randomBytes(6).toString('hex');
    const token = `bt_${id}_${randomBytes(32).toString('base64url')}`;
    const value: StoredToken = {
      id,
      label: input.label,
      user: input.user,
      role: input.role,
      sha256: sha256(token),
      createdAt: new Date().toISOString(),
      createdBy,
      expiresAt: input.expiresAt ?? null,
    };
    const revision = await this.#create(`tokens.${id}`, value, `token ${id}`);
    return { token, record: tokenRecord(value, revision) };
  }

  async deleteToken(id: string): Promise<TokenRecord> {
    const t = /^[0-9a-f]{12}$/.test(id) ? await this.#read(`tokens.${id}`, StoredToken) : null;
    if (!t) throw new NotFoundError(`no token '${id}'`);
    await this.kv.delete(`tokens.${id}`, { previousSeq: t.revision });
    return tokenRecord(t.value, t.revision);
  }

  /** The principal of a bearer token, null when it is unknown, expired or its user is gone. */
  async authenticateToken(token: string, now = new Date()): Promise<Principal | null> {
    const m = TOKEN.exec(token);
    if (!m) return null;
    const t = await this.#read(`tokens.${m[1]}`, StoredToken);
    if (!t || !safeEqualHex(t.value.sha256, sha256(token))) return null;
    if (t.value.expiresAt !== null && Date.parse(t.value.expiresAt) <= now.getTime()) return null;
    const user = await this.#stored(t.value.user);
    if (!user) return null;
    const role = roleAtLeast(user.value.role, t.value.role) ? t.value.role : user.value.role;
    return { user: user.value.name, role, via: 'token', tokenId: t.value.id };
  }

  /** Starts a session; returns the session id for the cookie (only its hash is stored). */
  async createSession(user: string, ttlMs: number, now = new Date()): Promise<string> {
    const sid = randomBytes(32).toString('base64url');
    const value = {
      user,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + ttlMs).toISOString(),
    };
    await this.kv.put(`sessions.${sha256(sid)}`, enc.encode(JSON.stringify(value)));
    await this.sweepSessions(now);
    return sid;
  }

  /** The principal of a session cookie; null when unknown, expired, or its user is gone. */
  async authenticateSession(sid: string, now = new Date()): Promise<Principal | null> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(sid)) return null;
    const s = await this.#read(`sessions.${sha256(sid)}`, StoredSession);
    if (!s || Date.parse(s.value.expiresAt) <= now.getTime()) return null;
    const user = await this.#stored(s.value.user);
    return user ? { user: user.value.name, role: user.value.role, via: 'session' } : null;
  }

  async deleteSession(sid: string): Promise<void> {
    if (/^[A-Za-z0-9_-]{43}$/.test(sid)) await this.kv.delete(`sessions.${sha256(sid)}`);
  }

  /** Deletes expired sessions, at most once an hour (called on login). */
  async sweepSessions(now = new Date()): Promise<number> {
    if (now.getTime() - this.#lastSweep < 3_600_000) return 0;
    this.#lastSweep = now.getTime();
    let n = 0;
    for (const key of await this.#keys('sessions')) {
      const s = await this.#read(key, StoredSession).catch(() => null);
      if (s && Date.parse(s.value.expiresAt) <= now.getTime()) {
        await this.kv.purge(key);
        n++;
      }
    }
    return n;
  }
}

function withoutHash(u: StoredUser, revision: number): UserRecord {
  const { passwordHash: _hash, ...rest } = u;
  return { ...rest, revision };
}

function tokenRecord(t: StoredToken, revision: number): TokenRecord {
  const { sha256: _hash, ...rest } = t;
  return { ...rest, revision };
}

function safeEqualHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}
