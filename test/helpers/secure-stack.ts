// A nats-server started the way `baton up` starts it (src/cli/secure-stack.ts: operator JWT auth,
// one identity per platform process, optionally TLS), on a random port and a temp folder, with the
// topology created through the admin identity. For the security tests.
import { writeFile } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { AgentIdentities, ensureTopology, type Authority, type PlatformRole } from '../../src/kv/index.js';
import { connectNats, type ConnectOptions } from '../../src/shared/connect.js';
import { findNatsServer } from '../../src/shared/nats-binary.js';
import { startNatsProcess, type NatsProcess } from '../../src/shared/nats-process.js';
import { credsPath, prepareSecureStack } from '../../src/cli/secure-stack.js';
import { baton, type CliOptions, type CliResult } from './cli.js';
import { TEST_TOPOLOGY } from './nats-server.js';

export type SecureTestStack = {
  url: string;
  dir: string;
  authority: Authority;
  caFile: string | null;
  credsFile(role: PlatformRole): string;
  /** Connects with a creds file (closed by stop()); extra options pass through. */
  connect(credsFile: string | null, opts?: Partial<ConnectOptions>): Promise<NatsConnection>;
  /** Issues an agent identity for `pcId` (as `baton up` does for its own agent); returns its creds file. */
  issueAgent(pcId: string): Promise<string>;
  /** The `baton` CLI as the operator (admin identity, authority folder). */
  cli(args: string[], opts?: CliOptions): Promise<CliResult>;
  stop(): Promise<void>;
};

export async function startSecureStack(opts: { tls?: boolean } = {}): Promise<SecureTestStack> {
  const dir = await mkdtemp(join(tmpdir(), 'baton-secure-'));
  const { found } = await findNatsServer();
  if (!found) throw new Error('no nats-server for tests; run `npm run setup` first');
  const secure = await prepareSecureStack(dir, { tls: opts.tls === true });
  const proc: NatsProcess = await startNatsProcess({
    binary: found.path,
    configFile: secure.configFile,
    storeDir: join(dir, 'nats'),
    runDir: join(dir, 'run'),
    port: -1,
  });
  const caFile = secure.tls?.caFile ?? null;
  const conns: NatsConnection[] = [];
  const connect = async (credsFile: string | null, o: Partial<ConnectOptions> = {}) => {
    const nc = await connectNats({
      servers: proc.url,
      name: 'baton-secure-test',
      ...(credsFile ? { credsFile } : {}),
      ...(caFile ? { caFile } : {}),
      ...o,
    });
    conns.push(nc);
    return nc;
  };
  const admin = await connect(credsPath(dir, 'admin'));
  await ensureTopology(admin, TEST_TOPOLOGY);
  return {
    url: proc.url,
    dir,
    authority: secure.authority,
    caFile,
    credsFile: (role) => credsPath(dir, role),
    connect,
    async issueAgent(pcId) {
      const creds = await (
        await AgentIdentities.open(admin)
      ).issue(secure.authority, pcId, {
        actor: { kind: 'system', name: 'test' },
        source: { via: 'system' },
      });
      const file = join(dir, `${pcId}.creds`);
      await writeFile(file, creds, { mode: 0o600 });
      return file;
    },
    cli(args, o = {}) {
      return baton(args, {
        cwd: dir,
        ...o,
        env: {
          BATON_NATS_URL: proc.url,
          BATON_NATS_CREDS: credsPath(dir, 'admin'),
          BATON_AUTHORITY: secure.authority.dir,
          ...(caFile ? { BATON_NATS_CA: caFile } : {}),
          BATON_ACTOR: 'tester',
          ...o.env,
        },
      });
    },
    async stop() {
      await Promise.all(conns.map((nc) => nc.close().catch(() => undefined)));
      await proc.stop(5_000);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
