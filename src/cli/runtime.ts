// Shared plumbing of CLI commands: global flags, connecting, and turning errors into exit codes
// (action.ts, re-exported here).
import type { Command } from 'commander';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats } from '../shared/connect.js';
import { action, classify } from './action.js';
import { resolveConnection, type ResolvedConnection } from './context.js';

export { action, classify };

export type GlobalFlags = {
  server?: string;
  api?: string;
  token?: string;
  creds?: string;
  ca?: string;
  authority?: string;
  json?: boolean;
};

export function globals(cmd: Command): GlobalFlags {
  return cmd.optsWithGlobals<GlobalFlags>();
}

export function connection(cmd: Command): ResolvedConnection {
  const g = globals(cmd);
  return resolveConnection({
    server: g.server, api: g.api, token: g.token, creds: g.creds, ca: g.ca, authority: g.authority,
  }); // prettier-ignore
}

/** Connection options of `connectNats` for a resolved connection: URL(s), credentials, CA. */
export function natsOptions(conn: ResolvedConnection): {
  servers: string;
  credsFile?: string;
  caFile?: string;
} {
  return {
    servers: conn.natsUrl,
    ...(conn.credsFile ? { credsFile: conn.credsFile } : {}),
    ...(conn.caFile ? { caFile: conn.caFile } : {}),
  };
}

/** Connects for one CLI call (fail fast, no endless reconnect), runs `fn`, then drains. */
export async function withNats<T>(cmd: Command, fn: (nc: NatsConnection) => Promise<T>): Promise<T> {
  const conn = connection(cmd);
  const nc = await connectNats({ ...natsOptions(conn), name: 'baton-cli', timeoutMs: 5_000 });
  try {
    return await fn(nc);
  } finally {
    await nc.drain().catch(() => nc.close());
  }
}
