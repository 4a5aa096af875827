// A backend for tests: a real nats-server with the topology, the backend with its in-process
// projector on a temp SQLite file, listening on a random port, and one user (and token) per
// role. Requests go over real HTTP.
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { AuthStore, type Role } from '../../src/kv/index.js';
import { composeBackend, type ComposedBackend } from '../../src/cli/backend-command.js';
import { silentLogger } from '../../src/shared/logger.js';
import { startStack, type TestStack } from './stack.js';

export type ApiResponse<T = Record<string, unknown>> = {
  status: number;
  headers: Headers;
  body: T;
  text: string;
};

export type RequestOptions = {
  token?: string;
  cookie?: string;
  body?: unknown;
  /** Sent as is (with `contentType`), instead of JSON. */
  raw?: string | Buffer;
  contentType?: string;
  headers?: Record<string, string>;
};

export type ApiStack = {
  stack: TestStack;
  nc: NatsConnection;
  composed: ComposedBackend;
  url: string;
  /** A bearer token per role. */
  tokens: Record<Role, string>;
  /** The password of the users `viewer`, `operator`, `admin`. */
  password: string;
  req<T = Record<string, unknown>>(
    method: string,
    path: string,
    opts?: RequestOptions,
  ): Promise<ApiResponse<T>>;
  stop(): Promise<void>;
};

export const PASSWORD = 'correct horse battery staple';

export async function startApi(opts: { webDir?: string } = {}): Promise<ApiStack> {
  const stack = await startStack();
  const nc = await stack.server.connect('backend');
  const auth = await AuthStore.open(nc);
  const tokens = {} as Record<Role, string>;
  for (const role of ['viewer', 'operator', 'admin'] as const) {
    await auth.createUser({ name: role, role, password: PASSWORD }, 'test');
    tokens[role] = (await auth.createToken({ user: role, role, label: 'test' }, 'test')).token;
  }
  const composed = await composeBackend(nc, {
    dbPath: join(stack.dir, 'backend.db'),
    instance: 'test',
    port: 0,
    webDir: opts.webDir ?? join(stack.dir, 'no-web'),
    logger: silentLogger,
  });
  const url = composed.backend.url;
  return {
    stack, nc, composed, url, tokens, password: PASSWORD,
    async req<T>(method: string, path: string, o: RequestOptions = {}) {
      const headers: Record<string, string> = { ...o.headers };
      if (o.token) headers['authorization'] = `Bearer ${o.token}`;
      if (o.cookie) headers['cookie'] = o.cookie;
      let body: string | Buffer | undefined;
      if (o.raw !== undefined) {
        body = o.raw;
        headers['content-type'] = o.contentType ?? 'text/yaml';
      } else if (o.body !== undefined) {
        body = JSON.stringify(o.body);
        headers['content-type'] = 'application/json';
      }
      const res = await fetch(url + path, { method, headers, body });
      const text = await res.text();
      let parsed: unknown = text;
      if ((res.headers.get('content-type') ?? '').startsWith('application/json')) parsed = JSON.parse(text);
      return { status: res.status, headers: res.headers, body: parsed as T, text };
    },
    async stop() {
      await composed.stop();
      await stack.stop();
    },
  }; // prettier-ignore
}

/** A job document. */
export function jobYaml(id: string, script: string, extra = ''): string {
  return `# ${id}: kept verbatim\nkind: job\nid: ${id}\nversion: "1"\n${extra}execute:\n  shell: sh\n  timeout: 60s\n  script: |\n${script.split('\n').map((l) => `    ${l}`).join('\n')}\n`; // prettier-ignore
}
