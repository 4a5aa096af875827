// The NATS trust chain of one baton deployment (NATS decentralized JWT auth): an operator, a
// system account, and the `BATON` account that holds every stream, bucket and object store. The
// account has a signing key; every user (agents, platform processes, operators' CLIs) gets a user
// JWT signed by it. The server trusts the operator and learns the accounts from its resolver, so
// enrolling an agent never edits or reloads the server config: the agent's JWT is checked against
// the account's signing key when it connects. Revoking a user adds it to the account's revocation
// list, re-signs the account JWT and pushes it to the server, which disconnects the user.
//
// Keys live as files in one folder (0700, each seed 0600). Which process needs which file is in
// docs/security.md: the backend needs the account signing key (enrollment) and, for revocation,
// the operator key and the system user.
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  createAccount,
  createOperator,
  createUser,
  decode,
  encodeAccount,
  encodeOperator,
  encodeUser,
  fmtCreds,
  fromPublic,
  fromSeed,
  type Account,
  type KeyPair,
} from '@nats-io/jwt';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Permissions } from './permissions.js';

export const ACCOUNT_NAME = 'BATON';

const FILES = {
  operatorSeed: 'operator.seed',
  operatorJwt: 'operator.jwt',
  systemSeed: 'system-account.seed',
  systemJwt: 'system-account.jwt',
  accountSeed: 'account.seed',
  signingSeed: 'account-signing.seed',
  accountJwt: 'account.jwt',
  systemUserCreds: 'system-user.creds',
} as const;

export class AuthorityError extends Error {
  override name = 'AuthorityError';
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Unlimited JetStream for the BATON account: each stream carries its own limits (DESIGN.md). */
const ACCOUNT_LIMITS = {
  subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1,
  mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1, max_ack_pending: -1,
  mem_max_stream_bytes: -1, disk_max_stream_bytes: -1, max_bytes_required: false,
} as const; // prettier-ignore

async function writePrivate(file: string, data: string | Uint8Array): Promise<void> {
  // Written beside and renamed: a crash never leaves half a key, and readers never see one.
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, data, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
}

export type UserIdentity = {
  /** The user's public nkey (`U...`). */
  publicKey: string;
  jwt: string;
  /** A `.creds` file's content (JWT + seed): give it only to the user it is for. */
  creds: Uint8Array;
};

export class Authority {
  private constructor(
    readonly dir: string,
    private readonly operator: KeyPair,
    private readonly system: KeyPair,
    private readonly account: KeyPair,
    private readonly signing: KeyPair,
    readonly operatorJwt: string,
    readonly systemJwt: string,
    private accountJwtValue: string,
  ) {}

  /** True when `dir` holds an authority. */
  static exists(dir: string): boolean {
    return existsSync(join(dir, FILES.operatorJwt));
  }

  /** Loads the authority in `dir`, creating a new one (new keys) when there is none. */
  static async init(dir: string): Promise<Authority> {
    if (!Authority.exists(dir)) await Authority.#create(dir);
    return Authority.open(dir);
  }

  static async open(dir: string): Promise<Authority> {
    const read = async (f: string) => {
      try {
        return (await readFile(join(dir, f), 'utf8')).trim();
      } catch (err) {
        throw new AuthorityError(
          `cannot read ${join(dir, f)}: ${(err as Error).message} (the NATS authority is made by \`baton up\`; pass --authority <dir>)`,
          { cause: err },
        );
      }
    };
    return new Authority(
      dir,
      fromSeed(enc.encode(await read(FILES.operatorSeed))),
      fromSeed(enc.encode(await read(FILES.systemSeed))),
      fromSeed(enc.encode(await read(FILES.accountSeed))),
      fromSeed(enc.encode(await read(FILES.signingSeed))),
      await read(FILES.operatorJwt),
      await read(FILES.systemJwt),
      await read(FILES.accountJwt),
    );
  }

  static async #create(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
    const operator = createOperator();
    const system = createAccount();
    const account = createAccount();
    const signing = createAccount();
    const sysUser = createUser();
    const operatorJwt = await encodeOperator('baton', operator, { system_account: system.getPublicKey() });
    const systemJwt = await encodeAccount('SYS', system, { limits: { subs: -1, data: -1, payload: -1, conn: -1 } }, { signer: operator }); // prettier-ignore
    const accountJwt = await encodeAccount(
      ACCOUNT_NAME,
      account,
      { limits: ACCOUNT_LIMITS, signing_keys: [signing.getPublicKey()] },
      { signer: operator },
    );
    const sysUserJwt = await encodeUser('system', sysUser, system);
    // Seeds first and the operator JWT last: exists() looks for it, so a crash in between leaves
    // no half authority that would later be "found".
    await writePrivate(join(dir, FILES.operatorSeed), dec.decode(operator.getSeed()));
    await writePrivate(join(dir, FILES.systemSeed), dec.decode(system.getSeed()));
    await writePrivate(join(dir, FILES.accountSeed), dec.decode(account.getSeed()));
    await writePrivate(join(dir, FILES.signingSeed), dec.decode(signing.getSeed()));
    await writePrivate(join(dir, FILES.systemJwt), systemJwt);
    await writePrivate(join(dir, FILES.accountJwt), accountJwt);
    await writePrivate(join(dir, FILES.systemUserCreds), fmtCreds(sysUserJwt, sysUser));
    await writePrivate(join(dir, FILES.operatorJwt), operatorJwt);
  }

  get accountPublicKey(): string {
    return this.account.getPublicKey();
  }

  get systemAccountPublicKey(): string {
    return this.system.getPublicKey();
  }

  get accountJwt(): string {
    return this.accountJwtValue;
  }

  /** The system user's credentials file (pushes account updates to the server). */
  get systemUserCredsFile(): string {
    return join(this.dir, FILES.systemUserCreds);
  }

  /** Public keys revoked so far, with the time (unix seconds) before which their JWTs are void. */
  get revocations(): Record<string, number> {
    return decode<Account>(this.accountJwtValue).nats.revocations ?? {};
  }

  /**
   * A user JWT for `publicKey` (the user made its own key pair and keeps the seed), signed by the
   * account signing key, with `permissions` and `tags`.
   */
  async userJwt(
    name: string,
    publicKey: string,
    permissions: Permissions,
    tags: string[] = [],
  ): Promise<string> {
    let user: KeyPair;
    try {
      user = fromPublic(publicKey);
      if (!publicKey.startsWith('U')) throw new Error('not a user key');
    } catch (err) {
      throw new AuthorityError(`'${publicKey}' is not a NATS user public key (U...)`, { cause: err });
    }
    return encodeUser(
      name,
      user,
      this.account,
      {
        pub: permissions.pub,
        sub: permissions.sub,
        ...(permissions.resp ? { resp: permissions.resp } : {}),
        tags,
        allowed_connection_types: ['STANDARD'],
      },
      { signer: this.signing },
    );
  }

  /** A new key pair and its JWT, as a creds file's content (for the platform's own processes). */
  async newUser(name: string, permissions: Permissions, tags: string[] = []): Promise<UserIdentity> {
    const kp = createUser();
    const jwt = await this.userJwt(name, kp.getPublicKey(), permissions, tags);
    return { publicKey: kp.getPublicKey(), jwt, creds: fmtCreds(jwt, kp) };
  }

  /** Writes a new user's creds file (0600) and returns its public key. */
  async writeUserCreds(
    file: string,
    name: string,
    permissions: Permissions,
    tags: string[] = [],
  ): Promise<string> {
    const u = await this.newUser(name, permissions, tags);
    await writePrivate(file, u.creds);
    return u.publicKey;
  }

  /**
   * Adds `publicKeys` to the account's revocation list (JWTs issued up to now become void),
   * re-signs the account JWT with the operator key and saves it. Push it with pushAccountJwt().
   * One writer at a time per authority folder (the file is replaced whole, not merged).
   */
  async revoke(publicKeys: readonly string[], at = new Date()): Promise<string> {
    const claims = decode<Account>(this.accountJwtValue);
    const revocations = { ...(claims.nats.revocations ?? {}) };
    const seconds = Math.floor(at.getTime() / 1000);
    for (const k of publicKeys) revocations[k] = seconds;
    const next = await encodeAccount(
      ACCOUNT_NAME,
      this.account,
      { ...claims.nats, revocations },
      { signer: this.operator },
    );
    await writePrivate(join(this.dir, FILES.accountJwt), next);
    this.accountJwtValue = next;
    return next;
  }

  /**
   * The server config lines that make nats-server trust this operator: the accounts are preloaded
   * into a full (directory) resolver that also accepts signed updates from the system account.
   */
  serverConfig(resolverDir: string): string {
    return [
      `operator: ${JSON.stringify(join(this.dir, FILES.operatorJwt))}`,
      `system_account: ${this.system.getPublicKey()}`,
      'resolver: {',
      '  type: full',
      `  dir: ${JSON.stringify(resolverDir)}`,
      '  allow_delete: false',
      '  interval: "2m"',
      '  timeout: "5s"',
      '}',
      'resolver_preload: {',
      `  ${this.system.getPublicKey()}: ${JSON.stringify(this.systemJwt)}`,
      `  ${this.account.getPublicKey()}: ${JSON.stringify(this.accountJwtValue)}`,
      '}',
      '',
    ].join('\n');
  }
}

/**
 * Sends an account JWT to the server(s) through the system account (`$SYS.REQ.CLAIMS.UPDATE`);
 * `nc` must be connected with the system user's credentials.
 */
export async function pushAccountJwt(nc: NatsConnection, jwt: string): Promise<void> {
  const reply = await nc.request('$SYS.REQ.CLAIMS.UPDATE', jwt, { timeout: 5_000 });
  const body = reply.json<{ error?: { description?: string; code?: number }; data?: unknown }>();
  if (body.error) {
    throw new AuthorityError(
      `the server refused the account update: ${body.error.description ?? 'unknown error'}`,
    );
  }
}
