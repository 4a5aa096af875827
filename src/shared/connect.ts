import { readFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import {
  connect,
  credsAuthenticator,
  type ConnectionOptions,
  type NatsConnection,
} from '@nats-io/transport-node';
import { MIN_NATS_VERSION, versionAtLeast } from './nats-binary.js';

export type ConnectOptions = {
  /** Server URL(s), e.g. `nats://127.0.0.1:4222`. */
  servers: string | string[];
  /** Connection name shown by the server (`baton-cli`, `baton-agent:pc-1`). */
  name: string;
  /**
   * Long-running processes reconnect forever with jitter; short-lived CLI calls fail fast.
   * Default false.
   */
  longRunning?: boolean;
  /** Path of a NATS credentials file (user JWT + seed). Default none. */
  credsFile?: string;
  /**
   * PEM file of the CA that signed the server's certificate: connect with TLS and verify the
   * server against it (`baton tls init` makes one for the embedded default). Default: plain TCP,
   * or TLS verified against the system's CAs when the server requires TLS.
   */
  caFile?: string;
  /** Prefix of reply subjects (an agent's permissions only let it receive on its own). Default `_INBOX`. */
  inboxPrefix?: string;
  /** Time to wait for the first connection. Default 5s. */
  timeoutMs?: number;
  /**
   * Capture the caller's stack for every request, so a failed request's error points at the code
   * that made it. Costs two error objects (stack traces) per request: the agent, which makes
   * several requests per run, turns it off. Default true.
   */
  asyncTraces?: boolean;
};

export class NatsConnectError extends Error {
  override name = 'NatsConnectError';
  /**
   * True when the server could not be reached (refused, timed out, no route, no such host): worth
   * trying again later. False when it answered and said no (credentials, TLS, version, JetStream),
   * or the credentials file cannot be read: trying again cannot help.
   */
  readonly unreachable: boolean;

  constructor(message: string, options?: ErrorOptions & { unreachable?: boolean }) {
    super(message, options);
    this.unreachable = options?.unreachable ?? false;
  }
}

/** Text of an error and its causes, for classifying what the client library threw. */
function errorText(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e instanceof Error && parts.length < 4; e = e.cause) parts.push(e.message);
  return parts.join(' ');
}

/** The server said no (rather than was not there): credentials or TLS. */
const REFUSED_BY_SERVER =
  /authoriz|authenticat|revoked|expired|permission|certificate|self[- ]signed|\btls\b|\bssl\b/i;

function connectHint(err: Error, opts: ConnectOptions): string {
  const cause = (err as { cause?: unknown }).cause;
  const m = `${err.message} ${cause instanceof Error ? cause.message : ''}`;
  if (/authorization|authentication|auth/i.test(m)) {
    return opts.credsFile
      ? ` (the credentials in ${opts.credsFile} were refused: revoked, expired or for another server)`
      : ' (the server requires credentials: pass --creds <file> or set BATON_NATS_CREDS)';
  }
  if (/certificate|self.signed|tls|ssl/i.test(m)) {
    return ' (TLS: pass the CA file that signed the server certificate with --ca or BATON_NATS_CA)';
  }
  return ' (is `baton up` running? set BATON_NATS_URL or --server to point elsewhere)';
}

/**
 * Connects and checks the server version, closing the connection with a clear error when the
 * server is older than baton supports.
 */
export async function connectNats(opts: ConnectOptions): Promise<NatsConnection> {
  const servers = Array.isArray(opts.servers) ? opts.servers : opts.servers.split(',');
  const co: ConnectionOptions = {
    servers,
    name: opts.name,
    timeout: opts.timeoutMs ?? 5_000,
    maxReconnectAttempts: opts.longRunning ? -1 : 3,
    reconnectTimeWait: opts.longRunning ? 1_000 : 250,
    reconnectJitter: 500,
    waitOnFirstConnect: false,
    noAsyncTraces: opts.asyncTraces === false,
  };
  if (opts.credsFile) {
    let creds: Uint8Array;
    try {
      creds = await readFile(opts.credsFile);
    } catch (err) {
      throw new NatsConnectError(
        `cannot read NATS credentials ${opts.credsFile}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    co.authenticator = credsAuthenticator(creds);
  }
  if (opts.caFile) co.tls = { caFile: opts.caFile };
  if (opts.inboxPrefix) co.inboxPrefix = opts.inboxPrefix;
  let nc: NatsConnection;
  try {
    nc = await connect(co);
  } catch (err) {
    throw new NatsConnectError(
      `cannot connect to NATS at ${servers.join(', ')}: ${(err as Error).message}` +
        connectHint(err as Error, opts),
      { cause: err, unreachable: !REFUSED_BY_SERVER.test(errorText(err)) },
    );
  }
  const version = nc.info?.version ?? '0.0.0';
  if (!versionAtLeast(version, MIN_NATS_VERSION)) {
    await nc.close();
    throw new NatsConnectError(
      `nats-server at ${servers.join(', ')} is version ${version}; baton needs ${MIN_NATS_VERSION} or newer`,
    );
  }
  if (nc.info && nc.info.jetstream !== true) {
    await nc.close();
    throw new NatsConnectError(
      `nats-server at ${servers.join(', ')} has JetStream disabled; start it with -js`,
    );
  }
  return nc;
}

/**
 * For a process that must come up whatever the network does at its start (the agent on an endpoint
 * that boots offline): connects like {@link connectNats}, but while the server cannot be reached it
 * tries again after 1 s, 2 s, ... up to 30 s between attempts, until it connects or `signal`
 * aborts (then it throws the abort reason). A server that refuses (credentials, TLS, version)
 * fails at once, as with connectNats.
 */
export async function connectNatsPatiently(
  opts: ConnectOptions,
  signal: AbortSignal,
  onRetry: (err: NatsConnectError, attempt: number, retryInMs: number) => void,
): Promise<NatsConnection> {
  for (let attempt = 1, wait = 1_000; ; attempt++, wait = Math.min(wait * 2, 30_000)) {
    signal.throwIfAborted();
    try {
      return await connectNats(opts);
    } catch (err) {
      if (!(err instanceof NatsConnectError) || !err.unreachable) throw err;
      onRetry(err, attempt, wait);
      await delay(wait, undefined, { signal });
    }
  }
}
