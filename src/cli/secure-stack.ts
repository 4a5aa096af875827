// The secure embedded default: what `baton up` sets up before it starts nats-server, and what the
// security tests start the same way. In `<dataDir>`:
//   authority/          the operator, system account and BATON account keys (0700, seeds 0600)
//   creds/<role>.creds  one NATS identity per platform process: admin (the CLI), backend,
//                       scheduler, projector (kv/permissions.ts says what each may do)
//   agent/agent.creds   the identity of this machine's own agent
//   tls/                the private CA and server certificate, with --tls
//   nats-server.conf    the bundled config + operator/resolver (+ tls) lines, regenerated each start
//   nats-jwt/           the server's account resolver store
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { resolve } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import type { BackendIdentity } from '../backend/index.js';
import { connectNats } from '../shared/connect.js';
import type { ResolvedConnection } from './context.js';
import { natsOptions } from './runtime.js';
import {
  AgentIdentities,
  Authority,
  PLATFORM_ROLES,
  platformPermissions,
  type PlatformRole,
} from '../kv/index.js';
import { bundledNatsConfig } from '../shared/paths.js';
import { ensureTlsFiles, tlsServerConfig, type TlsFiles } from '../shared/tls.js';
import { CliError, EXIT } from './exit-codes.js';

export const credsPath = (dataDir: string, role: PlatformRole): string =>
  join(dataDir, 'creds', `${role}.creds`);
export const authorityPath = (dataDir: string): string => join(dataDir, 'authority');
export const localAgentCredsPath = (dataDir: string): string => join(dataDir, 'agent', 'agent.creds');

export type SecureStack = {
  authority: Authority;
  /** The nats-server config file to start with. */
  configFile: string;
  /** The TLS files when TLS is on, else null. */
  tls: TlsFiles | null;
};

/** True when `storeDir` holds JetStream data written without accounts (an older, open `baton up`). */
async function hasOpenModeData(storeDir: string): Promise<boolean> {
  const global = join(storeDir, 'jetstream', '$G');
  if (!existsSync(global)) return false;
  return (await readdir(join(global, 'streams')).catch(() => [])).length > 0;
}

/**
 * Creates what is missing (authority, platform creds, TLS files) and writes the server config.
 * Idempotent: a second start reuses every key and certificate.
 */
export async function prepareSecureStack(
  dataDir: string,
  opts: { tls?: boolean } = {},
): Promise<SecureStack> {
  const authorityDir = authorityPath(dataDir);
  if (!Authority.exists(authorityDir) && (await hasOpenModeData(join(dataDir, 'nats')))) {
    throw new CliError(
      `${dataDir} holds NATS data from a baton up without per-identity security; the secure default ` +
        'cannot see it. Move that folder aside (or pass another --data-dir) to start fresh.',
      EXIT.conflict,
    );
  }
  const authority = await Authority.init(authorityDir);
  await mkdir(join(dataDir, 'creds'), { recursive: true, mode: 0o700 });
  await chmod(join(dataDir, 'creds'), 0o700);
  for (const role of PLATFORM_ROLES) {
    const file = credsPath(dataDir, role);
    if (!existsSync(file)) {
      await authority.writeUserCreds(file, `platform:${role}`, platformPermissions(role), [
        'baton:platform',
        `role:${role}`,
      ]);
    }
  }
  const tls = opts.tls ? await ensureTlsFiles(join(dataDir, 'tls')) : null;
  const configFile = join(dataDir, 'nats-server.conf');
  const config = [
    await readFile(bundledNatsConfig(), 'utf8'),
    '# ---- written by baton up: NATS JWT auth (docs/security.md) ----',
    authority.serverConfig(join(dataDir, 'nats-jwt')),
    tls ? tlsServerConfig(tls) : '',
  ].join('\n');
  await writeFile(configFile, config, { mode: 0o600 });
  return { authority, configFile, tls };
}

/**
 * Gives this machine's agent its identity (once): a creds file written 0600, its key recorded and
 * a receipt, like an enrollment without the token. Needs the topology.
 */
export async function ensureLocalAgentCreds(
  nc: NatsConnection,
  authority: Authority,
  dataDir: string,
  pcId: string,
): Promise<string> {
  const file = localAgentCredsPath(dataDir);
  if (existsSync(file)) return file;
  const creds = await (
    await AgentIdentities.open(nc)
  ).issue(authority, pcId, {
    actor: { kind: 'system', name: 'baton up' },
    source: { via: 'system' },
  });
  await mkdir(join(dataDir, 'agent'), { recursive: true });
  await writeFile(file, creds, { mode: 0o600 });
  return file;
}

/**
 * The powers of an authority folder (`--authority`), for the backend and the CLI: sign enrolled
 * agents' JWTs with the account signing key, revoke through the system user (a short connection
 * per revocation). Null when no folder is configured.
 */
export async function identityAuthority(conn: ResolvedConnection): Promise<BackendIdentity | null> {
  if (!conn.authorityDir) return null;
  const authority = await Authority.open(resolve(conn.authorityDir));
  return {
    authority,
    async withSystem(fn) {
      const sys = await connectNats({
        ...natsOptions(conn),
        credsFile: authority.systemUserCredsFile,
        name: 'baton-system',
      });
      try {
        return await fn(sys);
      } finally {
        await sys.drain().catch(() => sys.close());
      }
    },
  };
}
