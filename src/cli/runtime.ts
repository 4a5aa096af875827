// Shared plumbing of CLI commands: global flags, connecting, and turning errors into exit codes.
import type { Command } from 'commander';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats, NatsConnectError } from '../shared/connect.js';
import { CliError, EXIT, type ExitCode } from './exit-codes.js';
import { resolveConnection, type ResolvedConnection } from './context.js';

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
export function natsOptions(conn: ResolvedConnection): { servers: string; credsFile?: string; caFile?: string } {
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

/** Maps an error to the message printed and the exit code. Named errors of the library map here. */
export function classify(err: unknown): { message: string; code: ExitCode } {
  if (err instanceof CliError) return { message: err.message, code: err.exitCode };
  if (err instanceof NatsConnectError) return { message: err.message, code: EXIT.unavailable };
  const e = err as Error & { exitCode?: ExitCode };
  switch (e?.name) {
    case 'ManifestError':
    case 'ParamsError':
    case 'WireError':
    case 'ZodError':
    case 'InvalidInputError':
      return { message: e.message, code: EXIT.usage };
    case 'ConflictError':
      return { message: e.message, code: EXIT.conflict };
    case 'NotFoundError':
      return { message: e.message, code: EXIT.notFound };
    case 'EnrollmentError':
      return { message: e.message, code: EXIT.failed };
    case 'AuthorityError':
    case 'NatsBinaryError':
    case 'NatsProcessError':
      return { message: e.message, code: EXIT.unavailable };
    default:
      return { message: e instanceof Error ? e.message : String(err), code: EXIT.failed };
  }
}

/** Wraps a command action so that errors print one clear message and set the exit code. */
export function action<A extends unknown[]>(
  fn: (this: Command, ...args: A) => Promise<void | number>,
): (this: Command, ...args: A) => Promise<void> {
  return async function (this: Command, ...args: A) {
    try {
      const code = await fn.apply(this, args);
      if (typeof code === 'number') process.exitCode = code;
    } catch (err) {
      const { message, code } = classify(err);
      process.stderr.write(`baton: ${message}\n`);
      if (process.env['BATON_DEBUG'] && err instanceof Error && err.stack)
        process.stderr.write(`${err.stack}\n`);
      process.exitCode = code;
    }
  };
}
