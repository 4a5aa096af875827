// The one door to the backend: JSON over fetch with the session cookie, errors as ApiError.
// Every error body of the API is {error, message, issues?}; a 401 anywhere sends the app to login.

/** A located problem in posted YAML, as /api/validate and /api/apply report it. */
export type Issue = { file?: string; line?: number; column?: number; path?: string; message: string };

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues: Issue[] = [],
    readonly body: unknown = undefined,
  ) {
    super(message);
  }
}

type Listener = () => void;
const unauthorizedListeners = new Set<Listener>();

/** Called whenever the API answers 401 (session expired or never logged in). */
export function onUnauthorized(fn: Listener): () => void {
  unauthorizedListeners.add(fn);
  return () => unauthorizedListeners.delete(fn);
}

export type Query = Record<string, string | number | boolean | undefined | null>;

/** `/api/runs` + {job:'x', limit: 50} → `/api/runs?job=x&limit=50` (empty values left out). */
export function apiPath(path: string, query: Query = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '') continue;
    q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

async function errorFrom(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  let body: unknown = undefined;
  try {
    body = JSON.parse(text) as unknown;
  } catch {
    // Not JSON (a proxy's HTML page, say): the status line and the first characters tell enough.
  }
  const b = (body ?? {}) as { error?: unknown; message?: unknown; issues?: unknown };
  const code = typeof b.error === 'string' ? b.error : `http_${res.status}`;
  const message =
    typeof b.message === 'string'
      ? b.message
      : `${res.status} ${res.statusText}${text ? `: ${text.slice(0, 200)}` : ''}`;
  const issues = Array.isArray(b.issues) ? (b.issues as Issue[]) : [];
  return new ApiError(res.status, code, message, issues, body);
}

export async function request<T>(
  method: string,
  path: string,
  body?: unknown,
  signal?: AbortSignal,
): Promise<T> {
  const init: RequestInit = {
    method,
    credentials: 'same-origin',
    headers: { accept: 'application/json' },
  };
  if (signal) init.signal = signal;
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { ...init.headers, 'content-type': 'application/json' };
  }
  let res: Response;
  try {
    res = await fetch(path, init);
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'network', `cannot reach the backend (${(err as Error).message})`);
  }
  if (!res.ok) {
    const e = await errorFrom(res);
    if (res.status === 401 && path !== '/api/login') for (const fn of unauthorizedListeners) fn();
    throw e;
  }
  if (res.status === 204) return undefined as T;
  const type = res.headers.get('content-type') ?? '';
  if (type.includes('application/json')) return (await res.json()) as T;
  return (await res.text()) as T;
}

export const api = {
  get: <T>(path: string, query?: Query, signal?: AbortSignal) =>
    request<T>('GET', apiPath(path, query), undefined, signal),
  post: <T>(path: string, body: unknown = {}) => request<T>('POST', path, body),
  put: <T>(path: string, body: unknown) => request<T>('PUT', path, body),
  del: <T>(path: string) => request<T>('DELETE', path),
};

/** Reads a byte range of a result's output as text; `total` comes from the Content-Range or metadata. */
export async function fetchOutputRange(
  resultId: string,
  stream: 'stdout' | 'stderr',
  offset: number,
  limit: number,
  signal?: AbortSignal,
): Promise<string> {
  const path = apiPath(`/api/results/${encodeURIComponent(resultId)}/output`, { stream, offset, limit });
  const init: RequestInit = { credentials: 'same-origin' };
  if (signal) init.signal = signal;
  const res = await fetch(path, init);
  if (!res.ok) throw await errorFrom(res);
  const type = res.headers.get('content-type') ?? '';
  if (type.includes('application/json')) {
    // Tolerate a JSON envelope ({data} or {text}) in case the backend wraps the bytes.
    const j = (await res.json()) as { data?: string; text?: string };
    return j.text ?? j.data ?? '';
  }
  return res.text();
}

/** A path segment, encoded. */
export const seg = (s: string) => encodeURIComponent(s);
