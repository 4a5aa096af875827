// `baton agents enroll|revoke|identity`: agent identities (docs/security.md). Enrollment tokens are
// written to the `auth` bucket with the operator's NATS identity; revocation needs the NATS
// authority folder (--authority, or the context of `baton up`) to re-sign the account and push it.
import type { Command } from 'commander';
import type { BackendIdentity } from '../backend/index.js';
import { AgentIdentities, pushAccountJwt } from '../kv/index.js';
import { GroupName, PcId } from '../wire/index.js';
import { cliActor } from './actor.js';
import { CliError, EXIT } from './exit-codes.js';
import { parseDurationFlag } from './flags.js';
import { formatTable, printJson } from './output.js';
import { action, connection, globals, withNats } from './runtime.js';
import { identityAuthority } from './secure-stack.js';

function pcIdArg(raw: string): string {
  if (!PcId.safeParse(raw).success) throw new CliError(`'${raw}' is not a valid pc id (letters, digits, '_' and '-', max 128)`, EXIT.usage);
  return raw;
} // prettier-ignore

/** The NATS authority of the resolved connection (revocation needs it), or a usage error. */
async function requireAuthority(cmd: Command): Promise<BackendIdentity> {
  const id = await identityAuthority(connection(cmd));
  if (!id) throw new CliError('revoking needs the NATS authority folder: pass --authority <dir> (baton up keeps it in .baton/authority)', EXIT.usage);
  return id;
} // prettier-ignore

/** Revokes keys through the authority: re-signs the account and pushes it with the system user. */
async function revokeKeys(cmd: Command, keys: string[]): Promise<void> {
  const id = await requireAuthority(cmd);
  await id.withSystem(async (sys) => pushAccountJwt(sys, await id.authority.revoke(keys)));
}

/** `baton nats revoke-key <public key>`: for a platform identity replaced by a new creds file. */
export function registerKeyRevocation(nats: Command): void {
  nats
    .command('revoke-key <public-key...>')
    .description('revoke NATS user keys (U...), e.g. of a replaced platform creds file; agents: use `agents revoke`')
    .action(action(async function (this: Command, keys: string[]) {
      for (const k of keys) if (!/^U[A-Z2-7]{55}$/.test(k)) throw new CliError(`'${k}' is not a NATS user public key (U followed by 55 base32 characters)`, EXIT.usage);
      await revokeKeys(this, keys);
      if (globals(this).json) return printJson({ revokedKeys: keys });
      console.log(`revoked ${keys.length} key(s); connections using them are closed and refused`);
    })); // prettier-ignore
}

export function registerIdentityCommands(agents: Command): void {
  agents
    .command('enroll <pc-id>')
    .description('a one-time enrollment token for a new endpoint (printed once, with the command to run there)')
    .option('--groups <list>', 'comma-separated groups the pc joins when it enrolls')
    .option('--ttl <duration>', 'how long the token is valid', '24h')
    .action(action(async function (this: Command, raw: string, f: { groups?: string; ttl: string }) {
      const pcId = pcIdArg(raw);
      const groups = f.groups === undefined ? null : f.groups.split(',').map((g) => g.trim()).filter(Boolean);
      for (const g of groups ?? []) if (!GroupName.safeParse(g).success) throw new CliError(`--groups: '${g}' is not a valid group name (letters, digits, '_' and '-')`, EXIT.usage);
      const ttlMs = parseDurationFlag('--ttl', f.ttl);
      const out = await withNats(this, async (nc) =>
        (await AgentIdentities.open(nc)).createEnrollment({ pcId, groups, ttlMs }, { actor: cliActor(), source: { via: 'cli' } }));
      const conn = connection(this);
      const command = `baton agent --server ${conn.natsUrl} --api ${conn.apiUrl ?? '<backend url>'}${conn.caFile ? ' --ca <ca.pem>' : ''} --enroll ${out.token}`;
      if (globals(this).json) return printJson({ pcId, ...out, command });
      console.log(`enrollment token for ${pcId} (valid until ${out.expiresAt}; works once; shown only now):`);
      console.log(`  ${out.token}`);
      console.log('on the endpoint, run:');
      console.log(`  ${command}`);
    })); // prettier-ignore

  agents
    .command('revoke <pc-id>')
    .description("revoke a pc's NATS identity: the server disconnects it and refuses it; its queued requests are dropped")
    .action(action(async function (this: Command, raw: string) {
      const pcId = pcIdArg(raw);
      const id = await requireAuthority(this);
      const out = await withNats(this, async (nc) =>
        id.withSystem(async (sys) => (await AgentIdentities.open(nc)).revoke(id.authority, sys, pcId, { actor: cliActor(), source: { via: 'cli' } })));
      if (globals(this).json) return printJson({ pcId, ...out });
      console.log(`revoked ${pcId}: ${out.revokedKeys.length} key(s); it is disconnected and cannot reconnect`);
    })); // prettier-ignore

  agents
    .command('identity <pc-id>')
    .description('the NATS keys issued to a pc, and which are revoked')
    .action(action(async function (this: Command, raw: string) {
      const pcId = pcIdArg(raw);
      const found = await withNats(this, async (nc) => (await AgentIdentities.open(nc)).identity(pcId));
      if (!found) throw new CliError(`no agent identity for '${pcId}' (never enrolled)`, EXIT.notFound);
      if (globals(this).json) return printJson(found);
      console.log(formatTable(found.keys, [
        { header: 'PUBLIC KEY', value: (k) => k.publicKey },
        { header: 'ISSUED', value: (k) => k.issuedAt },
        { header: 'BY', value: (k) => k.issuedBy },
        { header: 'REVOKED', value: (k) => k.revokedAt ?? '-' },
      ]));
    })); // prettier-ignore
}
