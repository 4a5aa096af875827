// Backend options: the public shape (optional fields, documented defaults) and the resolved
// shape. Defaults are written in one place: resolveBackendOptions.
import type { Logger } from '../shared/logger.js';
import { silentLogger } from '../shared/logger.js';

export type BackendOptions = {
  /** Interface to listen on. Default `127.0.0.1`. */
  host?: string;
  /** TCP port; 0 picks a free one (see Backend.url). Default 8420. */
  port?: number;
  /** Folder of the built SPA (index.html and assets). Default `<project>/dist/web`. */
  webDir: string;
  /** Reported by /api/health. Required. */
  version: string;
  /** Largest request body accepted; larger gets 413. Default 2 MiB. */
  bodyLimitBytes?: number;
  /** Lifetime of a login session. Default 12 h. */
  sessionTtlMs?: number;
  /** Login attempts allowed per client address and user name per window; more get 429. Default 5. */
  loginAttempts?: number;
  /** The login rate-limit window. Default 60 s. */
  loginWindowMs?: number;
  /** Mark the session cookie `Secure` (serve over HTTPS behind a proxy). Default false. */
  secureCookies?: boolean;
  /** Least time between two `run` live updates of one execution. Default 250 ms. */
  liveThrottleMs?: number;
  /** Default: silent. */
  logger?: Logger;
};

export type ResolvedBackendOptions = Required<Omit<BackendOptions, 'logger'>> & { logger: Logger };

export const BACKEND_DEFAULTS = {
  host: '127.0.0.1',
  port: 8420,
  bodyLimitBytes: 2 * 1024 * 1024,
  sessionTtlMs: 12 * 3_600_000,
  loginAttempts: 5,
  loginWindowMs: 60_000,
  secureCookies: false,
  liveThrottleMs: 250,
} as const;

export function resolveBackendOptions(o: BackendOptions): ResolvedBackendOptions {
  const defined = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  const r = { ...BACKEND_DEFAULTS, ...defined, logger: o.logger ?? silentLogger } as ResolvedBackendOptions;
  if (!Number.isInteger(r.port) || r.port < 0 || r.port > 65535)
    throw new RangeError(`backend port ${r.port} is not 0..65535`);
  return r;
}
