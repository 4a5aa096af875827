// `baton backend`: the HTTP API and the web UI. This is the composition root of the backend role:
// it connects to NATS, runs the topology bootstrap, runs an in-process projector into its own
// SQLite file (each backend replica keeps its own projection, DESIGN.md), adapts the projector's
// read queries to the backend's ReadModel interface, and serves. SIGTERM/SIGINT stop it gracefully.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  Backend,
  BACKEND_DEFAULTS,
  type BackendIdentity,
  type ReadModel as BackendReadModel,
} from '../backend/index.js';
import { ensureTopology } from '../kv/index.js';
import { DbLockedError, Projector, ReadModel } from '../projector/index.js';
import { connectNats } from '../shared/connect.js';
import type { Logger } from '../shared/logger.js';
import { projectRoot } from '../shared/paths.js';
import { processLogger } from '../shared/process-logger.js';
import { CliError, EXIT } from './exit-codes.js';
import { topologyOptions } from './nats-commands.js';
import { contextDataDir } from './projection-db.js';
import { action, connection, natsOptions } from './runtime.js';
import { identityAuthority } from './secure-stack.js';

export const BACKEND_DB_FILE = 'backend.db';

/** baton's version, from its package.json. */
export function batonVersion(): string {
  return (JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string })
    .version;
}

/** The projector's queries as the backend's ReadModel. */
export function backendReadModel(rm: ReadModel): BackendReadModel {
  return {
    executions: (f) => rm.runs.list(f),
    execution: (id) => rm.runs.get(id),
    runs: (id) => rm.runs.runs(id),
    outputGroups: (id) => rm.runs.outputGroups(id),
    result: (id) => rm.results.get(id),
    agents: (now) => rm.agents.list(now),
    agent: (pc, now) => rm.agents.get(pc, now),
    timeline: (pc, f) => rm.timeline.timeline(pc, f),
    inventory: (pc) => rm.inventory.latest(pc),
    inventoryHistory: (pc, f) => rm.inventory.history(pc, f),
    audit: (f) => rm.audit.list(f),
  };
}

export type ComposeOptions = {
  dbPath: string;
  /** Names the projector's durable consumers; one per replica. */
  instance: string;
  host?: string;
  port?: number;
  webDir?: string;
  heartbeatMs?: number;
  logger: Logger;
  /** Enables agent enrollment and revocation. Default none. */
  identity?: BackendIdentity | null;
};

export type ComposedBackend = {
  backend: Backend;
  projector: Projector;
  readModel: ReadModel;
  stop(): Promise<void>;
};

/** Starts the projector and the backend on one NATS connection (the connection stays the caller's). */
export async function composeBackend(nc: NatsConnection, o: ComposeOptions): Promise<ComposedBackend> {
  const projector = new Projector(nc, {
    dbPath: o.dbPath,
    instance: o.instance,
    logger: o.logger,
    // Only the `baton projector` process reports presence, so two projections do not race.
    emitPresence: false,
    ...(o.heartbeatMs ? { heartbeatMs: o.heartbeatMs } : {}),
  });
  await projector.start();
  const readModel = ReadModel.open(o.dbPath);
  const backend = new Backend(nc, backendReadModel(readModel), {
    host: o.host, port: o.port, webDir: o.webDir ?? join(projectRoot(), 'dist', 'web'), version: batonVersion(), logger: o.logger,
  }, o.identity ?? null); // prettier-ignore
  try {
    await backend.start();
  } catch (err) {
    readModel.close();
    await projector.stop();
    throw err;
  }
  return {
    backend, projector, readModel,
    async stop() {
      await backend.stop();
      readModel.close();
      await projector.stop();
    },
  }; // prettier-ignore
}

type BackendFlags = {
  port: string;
  host: string;
  db?: string;
  instance: string;
  web?: string;
  setup: boolean;
};

export function registerBackendCommand(program: Command): void {
  program
    .command('backend')
    .description('serve the HTTP API and the web UI (foreground; SIGTERM stops it)')
    .option('--port <port>', 'TCP port (0: any free port)', String(BACKEND_DEFAULTS.port))
    .option('--host <host>', 'interface to listen on', BACKEND_DEFAULTS.host)
    .option('--db <path>', `its own projection (default <data dir>/${BACKEND_DB_FILE})`)
    .option('--instance <name>', "names this replica's projector consumers", `backend-${hostname().replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 40)}`)
    .option('--web <dir>', 'the built SPA folder (default <baton>/dist/web)')
    .option('--no-setup', 'skip the topology bootstrap at start (`baton up` already ran it)')
    .action(action(async function (this: Command, flags: BackendFlags) {
      const port = Number(flags.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`--port: '${flags.port}' is not a port (0..65535)`, EXIT.usage);
      const dbPath = resolve(flags.db ?? join(contextDataDir(), BACKEND_DB_FILE));
      const logger = processLogger('baton-backend', { db: dbPath });
      const conn = connection(this);
      const identity = await identityAuthority(conn);
      const nc = await connectNats({ ...natsOptions(conn), name: 'baton-backend', longRunning: true });
      const stopped = new Promise<void>((done) => {
        process.once('SIGINT', done);
        process.once('SIGTERM', done);
      });
      let composed: ComposedBackend | null = null;
      try {
        if (flags.setup) await ensureTopology(nc, topologyOptions({}));
        composed = await composeBackend(nc, {
          dbPath, instance: flags.instance, host: flags.host, port, logger, identity, ...(flags.web ? { webDir: resolve(flags.web) } : {}),
        }).catch((err: unknown) => {
          if (err instanceof DbLockedError) throw new CliError(err.message, EXIT.conflict, { cause: err });
          if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new CliError(`port ${port} on ${flags.host} is taken; pass --port`, EXIT.unavailable, { cause: err });
          throw err;
        });
        await stopped;
      } finally {
        await composed?.stop();
        await nc.drain().catch(() => nc.close());
      }
    })); // prettier-ignore
}
