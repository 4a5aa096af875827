// The Backend: an HTTP server for the API and the SPA. One request goes through: route match,
// authentication (cookie or bearer token) and role check, validation of path, query and body
// with the route's zod schemas, the handler, and one JSON answer (errors too). Nothing a client
// sends can crash the process: every failure becomes a status and a JSON body.
//
// Lifecycle: start() subscribes the live hub and listens; stop() stops accepting, ends the
// event streams, and waits for open requests to finish. Both idempotent. The NATS connection and
// the read model belong to the caller.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NatsConnection } from '@nats-io/transport-node';
import { z } from 'zod';
import { ManifestError, ParamsError, PcId, RequestId } from '../wire/index.js';
import { AuthStore, roleAtLeast } from '../kv/index.js';
import { LoginLimiter, authenticate } from './auth.js';
import { api, type BackendDeps } from './deps.js';
import {
  HANDLED,
  HttpError,
  Reply,
  match,
  parseOr400,
  readBody,
  sendJson,
  utf8Text,
  type Caller,
  type Route,
} from './http.js';
import { LIVE_EVENTS, LiveHub, type LiveEvent } from './live.js';
import { relayOutput } from './live-output.js';
import { editInput, invalidManifest } from './manifests.js';
import { openApiDocument } from './openapi.js';
import { resolveBackendOptions, type BackendOptions, type ResolvedBackendOptions } from './options.js';
import type { ReadModel } from './read-model.js';
import { adminRoutes } from './routes-admin.js';
import { applyRoutes } from './routes-apply.js';
import { authRoutes } from './routes-auth.js';
import { fleetRoutes } from './routes-fleet.js';
import { identityRoutes, type BackendIdentity } from './routes-identity.js';
import { jobRoutes } from './routes-jobs.js';
import { runRoutes } from './routes-runs.js';
import { scheduleRoutes } from './routes-schedules.js';
import { serveStatic } from './static.js';

const ANONYMOUS: Caller = { user: 'anonymous', role: 'viewer', via: 'session' };

export type BackendState = 'new' | 'running' | 'stopping' | 'stopped';

const Topics = z.object({
  /** Comma-separated event names to receive; default all. */
  topics: z.string().transform((s, ctx) => {
    const names = s.split(',').map((t) => t.trim()).filter(Boolean);
    for (const n of names) if (!(LIVE_EVENTS as readonly string[]).includes(n)) ctx.addIssue({ code: 'custom', message: `'${n}' is not one of ${LIVE_EVENTS.join(', ')}` });
    return new Set(names as LiveEvent[]);
  }).optional(),
}); // prettier-ignore

/** Every route, in the order of docs/api.md. */
export function backendRoutes(): Route<BackendDeps>[] {
  const routes: Route<BackendDeps>[] = [
    ...authRoutes, ...jobRoutes, ...applyRoutes, ...scheduleRoutes, ...runRoutes, ...fleetRoutes, ...identityRoutes, ...adminRoutes,
  ]; // prettier-ignore
  routes.push(
    api({
      method: 'GET', path: '/api/stream', role: 'viewer', tag: 'live', query: Topics, produces: 'sse',
      summary: 'server-sent events: run, result, agent, event, audit (cookie or token auth)',
      async handle({ res, query, deps }) {
        deps.live.attach(res, query.topics ?? new Set(LIVE_EVENTS));
        return HANDLED;
      },
    }),
    api({
      method: 'GET', path: '/api/live/:pc/:requestId', role: 'viewer', tag: 'live', produces: 'sse',
      params: z.object({ pc: PcId, requestId: RequestId }),
      summary: 'server-sent events with the live output chunks of a running script (output, gap, eof)',
      async handle({ res, params, deps }) {
        relayOutput(deps.nc, res, params.pc, params.requestId);
        return HANDLED;
      },
    }),
    api({
      method: 'GET', path: '/api/openapi.json', role: 'viewer', tag: 'meta', summary: 'this document (OpenAPI 3.1)',
      async handle({ deps }) {
        return openApiDocument(routes, deps.options.version);
      },
    }),
  ); // prettier-ignore
  return routes;
}

export class Backend {
  readonly options: ResolvedBackendOptions;
  readonly routes = backendRoutes();
  #server: Server | null = null;
  #deps: BackendDeps | null = null;
  #state: BackendState = 'new';
  #starting: Promise<void> | null = null;
  #stopping: Promise<void> | null = null;

  constructor(
    private readonly nc: NatsConnection,
    private readonly readModel: ReadModel,
    opts: BackendOptions,
    /** Signs enrolled agents' credentials and revokes them. Default none (those routes answer 503). */
    private readonly identity: BackendIdentity | null = null,
  ) {
    this.options = resolveBackendOptions(opts);
  }

  get state(): BackendState {
    return this.#state;
  }

  /** `http://host:port` once started (the real port when 0 was asked). */
  get url(): string {
    const a = this.#server?.address() as AddressInfo | null | undefined;
    if (!a) throw new Error('the backend is not listening');
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return `http://${host}:${a.port}`;
  }

  start(): Promise<void> {
    if (this.#state === 'stopping' || this.#state === 'stopped')
      return Promise.reject(new Error('a stopped backend cannot be started again; create a new one'));
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    const o = this.options;
    const live = new LiveHub(this.nc, this.readModel, o.liveThrottleMs, o.logger);
    this.#deps = {
      nc: this.nc,
      readModel: this.readModel,
      auth: await AuthStore.open(this.nc),
      live,
      limiter: new LoginLimiter(o.loginAttempts, o.loginWindowMs),
      options: o,
      identity: this.identity,
    };
    live.start();
    const server = createServer((req, res) => void this.#handle(req, res));
    server.requestTimeout = 60_000;
    server.headersTimeout = 30_000;
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port, o.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('clientError', (_err, socket) => socket.destroy());
    this.#state = 'running';
    o.logger.info({ url: this.url, web: o.webDir }, 'backend listening');
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    let path = '/';
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      path = url.pathname;
      const method = req.method ?? 'GET';
      if (!path.startsWith('/api/') && path !== '/api') {
        if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, 'method_not_allowed', `${method} is not allowed on ${path}`);
        return await serveStatic(req, res, this.options.webDir, path);
      }
      const deps = this.#deps!;
      const m = match(this.routes, method, path);
      if (!m) throw new HttpError(404, 'not_found', `no API route ${method} ${path}; see /api/openapi.json`);
      const r = m.route;
      // Routes without a role (health, login) never read the caller.
      let caller: Caller = ANONYMOUS;
      if (r.role !== null) {
        const found = await authenticate(req, deps.auth);
        if (!found) throw new HttpError(401, 'unauthorized', 'log in (POST /api/login) or send Authorization: Bearer <token>');
        caller = found;
        if (!roleAtLeast(caller.role, r.role))
          throw new HttpError(403, 'forbidden', `${method} ${r.path} needs the ${r.role} role; ${caller.user} is ${caller.role}`);
      }
      const params = r.params ? parseOr400(r.params, m.params, 'path') : m.params;
      const query = r.query ? parseOr400(r.query, Object.fromEntries(url.searchParams), 'query') : {};
      let body: unknown;
      if (r.body) {
        const raw = await readBody(req, this.options.bodyLimitBytes);
        body = r.bodyKind === 'yaml' ? editInput(req, raw) : parseOr400(r.body, jsonBody(req, raw), 'body');
      } else await readBody(req, this.options.bodyLimitBytes); // a body a route does not take is dropped, bounded like any (413)
      const out = await r.handle({ req, res, params, query, body, caller, ip: req.socket.remoteAddress ?? '', deps });
      if (out === HANDLED) return;
      if (out instanceof Reply) {
        if (Buffer.isBuffer(out.body)) {
          res.writeHead(out.status, { 'content-length': out.body.length, 'cache-control': 'no-store', ...out.headers });
          res.end(out.body);
        } else sendJson(res, out.status, out.body, out.headers);
      } else sendJson(res, 200, out);
    } catch (err) {
      this.#fail(res, err, path);
    } finally {
      this.options.logger.debug({ method: req.method, path, status: res.statusCode, ms: Date.now() - started }, 'request');
    }
  } // prettier-ignore

  #fail(res: ServerResponse, err: unknown, path: string): void {
    const e = httpError(err);
    if (e.status >= 500) this.options.logger.error({ path, err: (err as Error)?.stack ?? String(err) }, 'request failed');
    if (res.headersSent) return void res.destroy();
    const headers: Record<string, string> = {};
    if (e.status === 429 && typeof e.extra['retryAfter'] === 'number') headers['retry-after'] = String(e.extra['retryAfter']);
    if (e.status === 413) headers['connection'] = 'close';
    sendJson(res, e.status, { error: e.code, message: e.message, ...e.extra }, headers);
  } // prettier-ignore

  /** Stops listening, ends event streams, waits for open requests; idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    const prev = this.#state;
    this.#state = 'stopping';
    if (prev !== 'new') await this.#starting?.catch(() => undefined);
    this.#deps?.live.stop();
    const server = this.#server;
    if (server) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const force = setTimeout(() => server.closeAllConnections(), 5_000);
      await closed;
      clearTimeout(force);
    }
    this.#state = 'stopped';
    this.options.logger.info({}, 'backend stopped');
  }
}

function jsonBody(req: IncomingMessage, raw: Buffer): unknown {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (raw.length === 0) return {};
  if (type !== 'application/json')
    throw new HttpError(415, 'unsupported_media_type', `content-type '${type || '(none)'}' is not accepted; send application/json`);
  const text = utf8Text(raw);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new HttpError(400, 'bad_request', `the body is not valid JSON: ${(err as Error).message}`, { issues: [{ path: 'body', message: 'not valid JSON' }] });
  }
} // prettier-ignore

/** The HTTP meaning of an error from the library: named errors map here. */
export function httpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof ManifestError) return invalidManifest(err);
  if (err instanceof ParamsError)
    return new HttpError(400, 'invalid_params', err.message, {
      issues: err.problems.map((p) => ({ path: `body.params.${p.param}`, message: p.message })),
    });
  const e = err as Error;
  switch (e?.name) {
    case 'ConflictError':
      return new HttpError(409, 'conflict', e.message);
    case 'NotFoundError':
      return new HttpError(404, 'not_found', e.message);
    case 'WireError':
    case 'ZodError':
    case 'RangeError':
      return new HttpError(400, 'bad_request', e.message);
    case 'AuditPublishError':
      return new HttpError(502, 'receipt_failed', e.message);
    default:
      return new HttpError(500, 'internal', 'the request failed inside the backend; see its log');
  }
}
