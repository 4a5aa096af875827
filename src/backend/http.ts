// The small HTTP layer of the backend on node:http: typed route definitions validated with zod,
// path matching, bounded body reading and JSON error bodies. Every route is data (method, path,
// role, schemas, summary), so the OpenAPI document is generated from the same table.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { Role } from '../kv/index.js';

export const METHODS = ['GET', 'POST', 'PUT', 'DELETE'] as const;
export type Method = (typeof METHODS)[number];

/** An error answered as `{error, message, ...extra}` with its status. */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const badRequest = (message: string, extra: Record<string, unknown> = {}) =>
  new HttpError(400, 'bad_request', message, extra);
export const notFound = (message: string) => new HttpError(404, 'not_found', message);

/** A non-default answer: status, headers, and a JSON body or raw bytes. */
export class Reply {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {}
}

/** The route took over the response (streams, server-sent events). */
export const HANDLED = Symbol('handled');

/** Who is calling; null on routes without auth. */
export type Caller = { user: string; role: Role; via: 'session' | 'token'; tokenId?: string };

export type RouteContext<P, Q, B, D> = {
  req: IncomingMessage;
  res: ServerResponse;
  params: P;
  query: Q;
  body: B;
  caller: Caller;
  ip: string;
  deps: D;
};

type AnyZod = z.ZodType;
type Infer<T> = T extends AnyZod ? z.output<T> : undefined;

/** `json`: a JSON body; `yaml`: a JSON body or raw text/yaml (the `yaml` field). */
export type BodyKind = 'json' | 'yaml';

export type RouteSpec<PS, QS, BS, D> = {
  method: Method;
  /** `/api/jobs/:id`; parameters are one path segment each. */
  path: string;
  /** The least role allowed; `null`: no authentication (health, login). */
  role: Role | null;
  /** OpenAPI tag (the route family). */
  tag: string;
  summary: string;
  params?: PS;
  query?: QS;
  body?: BS;
  bodyKind?: BodyKind;
  /** What a 200 answer is, for the OpenAPI document. Default JSON. */
  produces?: 'json' | 'text' | 'sse';
  handle(ctx: RouteContext<Infer<PS>, Infer<QS>, Infer<BS>, D>): Promise<unknown>;
};

export type Route<D> = RouteSpec<AnyZod | undefined, AnyZod | undefined, AnyZod | undefined, D> & {
  pattern: RegExp;
  keys: string[];
};

/** A typed route: the handler sees the parsed params, query and body. */
export function route<D>() {
  return <PS extends AnyZod | undefined = undefined, QS extends AnyZod | undefined = undefined, BS extends AnyZod | undefined = undefined>(
    spec: RouteSpec<PS, QS, BS, D>,
  ): Route<D> => {
    const keys: string[] = [];
    const source = spec.path.replace(/:([A-Za-z]+)/g, (_, k: string) => {
      keys.push(k);
      return '([^/]+)';
    });
    return { ...(spec as unknown as Route<D>), pattern: new RegExp(`^${source}$`), keys };
  }; // prettier-ignore
}

export type Match<D> = { route: Route<D>; params: Record<string, string> };

/** The route for a method and path; a 405 when the path exists with other methods, null for none. */
export function match<D>(routes: readonly Route<D>[], method: string, path: string): Match<D> | null {
  let pathKnown = false;
  for (const r of routes) {
    const m = r.pattern.exec(path);
    if (!m) continue;
    pathKnown = true;
    if (r.method !== method) continue;
    const params: Record<string, string> = {};
    r.keys.forEach((k, i) => {
      try {
        params[k] = decodeURIComponent(m[i + 1]!);
      } catch {
        throw badRequest(`path parameter ${k}: '${m[i + 1]}' is not valid percent-encoding`);
      }
    });
    return { route: r, params };
  }
  if (pathKnown) throw new HttpError(405, 'method_not_allowed', `${method} is not allowed on ${path}`);
  return null;
}

/** Reads the body up to `limit` bytes; 413 beyond (the rest is not read). */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limit) throw tooLarge(limit, declared);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit, size);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The body as text; a 400 when it is not valid UTF-8 (never silently replaced characters). */
export function utf8Text(raw: Buffer): string {
  try {
    return utf8.decode(raw);
  } catch {
    throw badRequest('the body is not valid UTF-8', {
      issues: [{ path: 'body', message: 'not valid UTF-8' }],
    });
  }
}

const tooLarge = (limit: number, size: number) =>
  new HttpError(
    413,
    'payload_too_large',
    `the body is ${size} bytes or more; at most ${limit} bytes are accepted`,
  );

/** Zod issues as the API reports them: a dotted path and a message each. */
export function zodIssues(err: z.ZodError, where: string): { path: string; message: string }[] {
  return err.issues.map((i) => ({
    path: [where, ...i.path.map(String)].filter(Boolean).join('.'),
    message: i.message,
  }));
}

/** Parses `value` with `schema`, or a 400 naming every bad field. */
export function parseOr400<T extends AnyZod>(schema: T, value: unknown, where: string): z.output<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issues = zodIssues(r.error, where);
  throw badRequest(issues.map((i) => `${i.path || where}: ${i.message}`).join('; '), { issues });
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const data = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(data),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(data);
} // prettier-ignore

/** A query-string number: `?limit=50`. */
export const queryInt = (min: number, max: number, dflt: number) =>
  z.coerce.number().int().min(min).max(max).default(dflt);
