// Entry module of src/backend: explicit named exports.
export { Backend, backendRoutes, httpError } from './backend.js';
export type { BackendState } from './backend.js';
export { SESSION_COOKIE, LoginLimiter } from './auth.js';
export { HttpError } from './http.js';
export type { Caller, Route } from './http.js';
export { LIVE_EVENTS, LiveHub } from './live.js';
export type { LiveEvent } from './live.js';
export { openApiDocument } from './openapi.js';
export { BACKEND_DEFAULTS, resolveBackendOptions } from './options.js';
export type { BackendOptions, ResolvedBackendOptions } from './options.js';
export type { BackendIdentity } from './routes-identity.js';
export type {
  AgentView,
  ExecutionStatus,
  ExecutionView,
  InventoryHistoryView,
  InventorySnapshotView,
  OutputGroupView,
  ReadModel,
  ResultView,
  RunView,
  TimelineView,
} from './read-model.js';
