// `baton up`: the embedded default. Starts nats-server (JetStream, loopback, data in .baton/) in the
// secure mode (NATS JWT auth: every platform process and the local agent with its own identity,
// secure-stack.ts; TLS with --tls), bootstraps the topology, starts the platform processes, writes
// the context file other commands read, and stops everything cleanly on Ctrl-C. Data survives
// restarts.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats } from '../shared/connect.js';
import { waitForJetStream } from '../shared/nats-cluster.js';
import { ensureNatsServer } from '../shared/nats-binary.js';
import { startNatsProcess, type NatsProcess } from '../shared/nats-process.js';
import { AuthStore, ensureTopology } from '../kv/index.js';
import { CONTEXT_FILE, DEFAULT_DATA_DIR, readContextFile, type BatonContext } from './context.js';
import { CliError, EXIT } from './exit-codes.js';
import { topologyOptions } from './nats-commands.js';
import { action } from './runtime.js';
import { defaultPcId } from './agent-command.js';
import { parseClusterSize, startUpCluster, type UpCluster } from './up-cluster.js';
import { Service, type ServiceEvent, type ServiceSpec } from './supervisor.js';
import {
  authorityPath,
  credsPath,
  ensureLocalAgentCreds,
  localAgentCredsPath,
  prepareSecureStack,
} from './secure-stack.js';

export type UpFlags = {
  dataDir: string;
  natsPort: string;
  apiPort: string;
  replicas?: string;
  limitScale?: string;
  tls?: boolean;
  cluster?: string;
};

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function parsePort(raw: string, flag = '--nats-port'): number {
  if (raw === 'random' || raw === '0') return -1;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new CliError(`${flag}: '${raw}' is not a port; use 1..65535 or 'random'`, EXIT.usage);
  }
  return n;
}

/** A free loopback port, for `--api-port random` (the backend child binds it right after). */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolvePort(port));
    });
  });
}

/** File with the admin API token `baton up` created on first start (mode 0600). */
export const API_TOKEN_FILE = 'api-token';

/**
 * On first start (no users yet) creates the user `admin` with a random password, shown once,
 * and an admin API token kept in `<dataDir>/api-token` for the context file. Later starts read
 * the token back.
 */
async function firstAdmin(nc: NatsConnection, dataDir: string): Promise<{ password: string | null; token: string | null }> {
  const auth = await AuthStore.open(nc);
  const tokenFile = join(dataDir, API_TOKEN_FILE);
  if ((await auth.users()).length > 0) {
    const token = existsSync(tokenFile) ? (await readFile(tokenFile, 'utf8')).trim() : null;
    return { password: null, token: token || null };
  }
  const password = randomBytes(12).toString('base64url');
  await auth.createUser({ name: 'admin', role: 'admin', password }, 'baton up');
  const { token } = await auth.createToken({ user: 'admin', role: 'admin', label: 'baton up (context file)' }, 'baton up');
  await writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
  return { password, token };
} // prettier-ignore

/**
 * The platform processes `baton up` supervises, each a `baton <role>` child: the scheduler, one
 * agent for this machine (pc id: the host name), the projector and the backend (HTTP API and web UI
 * on `ctx.apiUrl`, with its own projection in `<dataDir>/backend.db`).
 */
export function platformServices(ctx: BatonContext, logDir: string): ServiceSpec[] {
  const api = ctx.apiUrl ? new URL(ctx.apiUrl) : null;
  // Each process gets its own NATS identity (and the CA with TLS); global flags go before the verb.
  const baton = (role: 'scheduler' | 'projector' | 'backend' | null) => [
    fileURLToPath(new URL('./main.js', import.meta.url)),
    '--server', ctx.natsUrl,
    '--creds', role ? credsPath(ctx.dataDir, role) : localAgentCredsPath(ctx.dataDir),
    ...(ctx.caFile ? ['--ca', ctx.caFile] : []),
  ]; // prettier-ignore
  return [
    {
      name: 'scheduler',
      command: process.execPath,
      args: [...baton('scheduler'), 'scheduler'],
      logFile: join(logDir, 'scheduler.log'),
    },
    {
      name: 'agent',
      command: process.execPath,
      args: [...baton(null), 'agent', '--pc-id', defaultPcId(), '--data-dir', join(ctx.dataDir, 'agent')],
      logFile: join(logDir, 'agent.log'),
    },
    {
      name: 'projector',
      command: process.execPath,
      args: [...baton('projector'), 'projector', '--db', join(ctx.dataDir, 'baton.db')],
      logFile: join(logDir, 'projector.log'),
    },
    ...(api
      ? [
          {
            name: 'backend',
            command: process.execPath,
            args: [
              ...baton('backend'),
              ...(ctx.authorityDir ? ['--authority', ctx.authorityDir] : []),
              'backend',
              '--host',
              api.hostname,
              '--port',
              api.port,
              '--db',
              join(ctx.dataDir, 'backend.db'),
              '--no-setup',
            ],
            logFile: join(logDir, 'backend.log'),
          },
        ]
      : []),
  ];
}

const say = (line: string) => process.stdout.write(`${line}\n`);

async function startNats(
  binary: string,
  configFile: string,
  dataDir: string,
  port: number,
): Promise<NatsProcess> {
  try {
    return await startNatsProcess({
      binary,
      configFile,
      storeDir: join(dataDir, 'nats'),
      runDir: join(dataDir, 'run'),
      port,
      logFile: join(dataDir, 'logs', 'nats-server.log'),
    });
  } catch (err) {
    const hint = /address already in use/.test((err as Error).message)
      ? `\nport ${port} is taken: stop what uses it or pass --nats-port <port> (or 'random')`
      : '';
    throw new CliError(`cannot start nats-server: ${(err as Error).message}${hint}`, EXIT.unavailable, {
      cause: err,
    });
  }
}

export async function up(flags: UpFlags): Promise<void> {
  const dataDir = resolve(flags.dataDir);
  const contextFile = join(dataDir, CONTEXT_FILE);
  if (existsSync(contextFile)) {
    const prev = readContextFile(contextFile);
    if (prev.pid !== process.pid && isAlive(prev.pid)) {
      throw new CliError(
        `baton up is already running in ${dataDir} (pid ${prev.pid}, NATS ${prev.natsUrl})`,
        EXIT.conflict,
      );
    }
  }
  const clusterSize = parseClusterSize(flags.cluster);
  // A cluster replicates everything 3 times unless told otherwise (never more than its nodes).
  const topo = topologyOptions({
    ...flags,
    replicas: flags.replicas ?? (clusterSize ? process.env['BATON_REPLICAS'] || '3' : undefined),
  });
  if (clusterSize && (topo.replicas ?? 1) > clusterSize)
    throw new CliError(
      `--replicas: ${topo.replicas} is more than the ${clusterSize} nodes of --cluster`,
      EXIT.usage,
    );
  const port = parsePort(flags.natsPort);
  const askedApiPort = parsePort(flags.apiPort, '--api-port');
  await mkdir(join(dataDir, 'logs'), { recursive: true });

  const bin = await ensureNatsServer((line) => say(`  ${line}`));
  const secure = await prepareSecureStack(dataDir, { tls: flags.tls === true });
  const caFile = secure.tls?.caFile ?? null;
  const cluster: UpCluster | null = clusterSize
    ? await startUpCluster(bin.path, secure.configFile, dataDir, clusterSize, port, say)
    : null;
  let nats = cluster ? null : await startNats(bin.path, secure.configFile, dataDir, port);
  // Every client gets every node's URL (comma-separated), so it reconnects to a surviving one.
  const natsUrl = cluster ? cluster.cluster.urls.join(',') : nats!.url;
  const nc: NatsConnection = await connectNats({
    servers: natsUrl,
    name: 'baton-up',
    longRunning: true,
    credsFile: credsPath(dataDir, 'admin'),
    ...(caFile ? { caFile } : {}),
  });
  if (cluster) await waitForJetStream(nc);
  const changes = await ensureTopology(nc, topo);
  const pcId = defaultPcId();
  await ensureLocalAgentCreds(nc, secure.authority, dataDir, pcId);
  const created = changes.filter((c) => c.action === 'created').length;
  const updated = changes.filter((c) => c.action === 'updated').length;

  const admin = await firstAdmin(nc, dataDir);
  const apiUrl = `http://127.0.0.1:${askedApiPort === -1 ? await freePort() : askedApiPort}`;

  const ctx: BatonContext = {
    natsUrl,
    apiUrl,
    token: admin.token,
    credsFile: credsPath(dataDir, 'admin'),
    caFile,
    authorityDir: authorityPath(dataDir),
    dataDir,
    pid: process.pid,
    startedAt: new Date().toISOString(),
  };
  await writeFile(contextFile, `${JSON.stringify(ctx, null, 2)}\n`, { mode: 0o600 });

  const onEvent = (e: ServiceEvent) => {
    if (e.kind === 'exited')
      say(`! ${e.name} exited (code ${e.code ?? e.signal}); restarting in ${e.restartInMs} ms`);
  };
  const services = platformServices(ctx, join(dataDir, 'logs')).map((s) => new Service(s, onEvent));
  for (const s of services) s.start();

  say(`baton is up (data in ${dataDir})`);
  if (cluster)
    say(
      `  nats-server ${bin.version}  ${clusterSize} nodes  ${natsUrl}  (logs: ${join(dataDir, 'logs', 'nats-n*.log')})`,
    );
  else say(`  nats-server ${bin.version}  ${natsUrl}  (log: ${join(dataDir, 'logs', 'nats-server.log')})`);
  say(`  topology    ${changes.length} resources: ${created} created, ${updated} updated`);
  say(
    `  security    NATS JWT auth, one identity per process and for agent ${pcId}; TLS ${caFile ? `on (CA ${caFile})` : 'off (loopback only; --tls turns it on)'}`,
  );
  for (const s of services) say(`  ${s.spec.name.padEnd(11)} pid ${s.pid ?? '?'}  (log: ${s.spec.logFile})`);
  say(`  web and API ${apiUrl}`);
  if (admin.password)
    say(`  login       admin / ${admin.password}   (shown once; an admin API token is in the context file)`);
  say(`  context     ${contextFile} (baton commands run in this folder use it)`);
  say('Press Ctrl-C to stop.');

  // Keep nats-server up: if it dies underneath us, restart it on the same port and store.
  let stopping = false;
  const natsWatch = (async () => {
    while (!stopping && nats) {
      const code = await nats.exited;
      if (stopping) return;
      say(`! nats-server exited (code ${code}); restarting`);
      nats = await startNats(bin.path, secure.configFile, dataDir, nats.port);
    }
  })();

  await new Promise<void>((resolveSignal) => {
    process.once('SIGINT', () => resolveSignal());
    process.once('SIGTERM', () => resolveSignal());
  });
  stopping = true;
  say('stopping...');
  // Reverse order: platform processes first (they drain their NATS work), then the server.
  await Promise.all(services.map((s) => s.stop()));
  await nc.drain().catch(() => nc.close());
  await (cluster ? cluster.stop() : nats?.stop());
  await natsWatch.catch(() => undefined);
  await rm(contextFile, { force: true });
  say('stopped; data kept in ' + dataDir);
}

export function registerUp(program: Command): void {
  program
    .command('up')
    .description('run a complete local platform on this machine (Ctrl-C stops it; data survives)')
    .option('--data-dir <dir>', 'where NATS data, logs and the context file live', DEFAULT_DATA_DIR)
    .option('--nats-port <port>', "NATS client port, or 'random'", '4222')
    .option('--api-port <port>', "HTTP port of the API and web UI (127.0.0.1), or 'random'", '8420')
    .option(
      '--cluster <n>',
      'run a JetStream cluster of n (3 or 5) nats-servers on loopback; replicas default to 3',
    )
    .option('--replicas <n>', 'replicas of every resource; env BATON_REPLICAS')
    .option('--limit-scale <factor>', 'multiply every byte limit; env BATON_LIMIT_SCALE')
    .option(
      '--tls',
      'serve NATS over TLS with a private CA made in <data-dir>/tls (agents verify the server)',
    )
    .action(action(async (flags: UpFlags) => up(flags)));
}
