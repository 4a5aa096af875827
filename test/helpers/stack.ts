// A test server with the topology set up, and a `baton` runner pointed at it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTopology } from '../../src/kv/index.js';
import { baton, type CliOptions, type CliResult } from './cli.js';
import { startTestServer, TEST_TOPOLOGY, type TestServer } from './nats-server.js';

export type TestStack = {
  server: TestServer;
  /** A temp folder removed by stop(); the CLI runs there. */
  dir: string;
  cli(args: string[], opts?: CliOptions): Promise<CliResult>;
  /** Runs the CLI with --json and parses stdout, asserting exit code 0. */
  json<T>(args: string[], opts?: CliOptions): Promise<T>;
  stop(): Promise<void>;
};

export async function startStack(): Promise<TestStack> {
  const server = await startTestServer();
  const nc = await server.connect('setup');
  await ensureTopology(nc, TEST_TOPOLOGY);
  const dir = await mkdtemp(join(tmpdir(), 'baton-stack-'));
  const cli = (args: string[], opts: CliOptions = {}) =>
    baton(args, {
      cwd: dir,
      ...opts,
      env: { BATON_NATS_URL: server.url, BATON_ACTOR: 'tester', ...opts.env },
    });
  return {
    server,
    dir,
    cli,
    async json<T>(args: string[], opts?: CliOptions) {
      const r = await cli([...args, '--json'], opts);
      if (r.code !== 0) throw new Error(`baton ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
      return JSON.parse(r.stdout) as T;
    },
    async stop() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
