// What every route handler gets: the NATS connection, the read model, the auth store, the live
// hub and the resolved options.
import type { NatsConnection } from '@nats-io/transport-node';
import type { AuditActor, AuditSource } from '../wire/index.js';
import type { AuthStore } from '../kv/index.js';
import type { LoginLimiter } from './auth.js';
import { route, type Caller } from './http.js';
import type { LiveHub } from './live.js';
import type { ResolvedBackendOptions } from './options.js';
import type { ReadModel } from './read-model.js';
import type { BackendIdentity } from './routes-identity.js';

export type BackendDeps = {
  nc: NatsConnection;
  readModel: ReadModel;
  auth: AuthStore;
  live: LiveHub;
  limiter: LoginLimiter;
  options: ResolvedBackendOptions;
  /** The NATS authority for agent enrollment and revocation; null when not configured. */
  identity: BackendIdentity | null;
};

/** Route builder bound to the backend's deps. */
export const api = route<BackendDeps>();

/** The actor and door of a write made through the API: the caller, as a human edit. */
export function apiMeta(caller: Caller): { actor: AuditActor; source: AuditSource } {
  return { actor: { kind: 'user', name: caller.user }, source: { via: 'api' } };
}
