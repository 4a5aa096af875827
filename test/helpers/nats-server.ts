// The one harness that starts a real nats-server for tests: JetStream on, loopback, a random port
// (-p -1 and a ports file, never a fixed port) and a temp store dir removed on stop. Each test
// gets its own server, so stream and bucket names of DESIGN.md never collide between tests.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats } from '../../src/shared/connect.js';
import { findNatsServer } from '../../src/shared/nats-binary.js';
import { startNatsProcess, type NatsProcess } from '../../src/shared/nats-process.js';
import { DEFAULT_LIMITS, scaleLimits, type TopologyOptions } from '../../src/kv/index.js';

/** Small limits so that many test servers fit on one disk (about 60 MiB reserved each). */
export const TEST_TOPOLOGY: TopologyOptions = { replicas: 1, limits: scaleLimits(DEFAULT_LIMITS, 1 / 256) };

export type TestServer = {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** A connection closed automatically by stop(). */
  connect(name?: string): Promise<NatsConnection>;
  /** Kills the server (SIGKILL by default) and starts it again on the same port and store. */
  restart(signal?: 'SIGKILL' | 'SIGTERM'): Promise<void>;
  /** Stops the server without restarting it (to test a dead server). */
  kill(): Promise<void>;
  /** Starts a killed server again on the same port and store. */
  start(): Promise<void>;
  stop(): Promise<void>;
};

let binaryPath: Promise<string> | undefined;

/** The nats-server binary the tests use (found once per process). */
export async function natsBinary(): Promise<string> {
  binaryPath ??= findNatsServer().then(({ found, rejected }) => {
    if (!found) {
      throw new Error(
        `no nats-server >= 2.10 for tests (${rejected.join('; ') || 'none found'}); run \`npm run setup\` first`,
      );
    }
    return found.path;
  });
  return binaryPath;
}

export async function startTestServer(extraArgs: string[] = []): Promise<TestServer> {
  const dir = await mkdtemp(join(tmpdir(), 'baton-nats-'));
  const bin = await natsBinary();
  const launch = (port: number) =>
    startNatsProcess({
      binary: bin,
      storeDir: join(dir, 'store'),
      runDir: join(dir, 'run'),
      port,
      extraArgs,
    });
  let proc: NatsProcess | null = await launch(-1);
  const port = proc.port;
  const url = proc.url;
  const conns: NatsConnection[] = [];
  return {
    url,
    port,
    dir,
    async connect(name = 'baton-test') {
      const nc = await connectNats({ servers: url, name, longRunning: true });
      conns.push(nc);
      return nc;
    },
    async restart(signal = 'SIGKILL') {
      if (proc) {
        if (signal === 'SIGKILL') {
          proc.child.kill('SIGKILL');
          await proc.exited;
        } else await proc.stop();
      }
      proc = await launch(port);
    },
    async kill() {
      if (!proc) return;
      proc.child.kill('SIGKILL');
      await proc.exited;
      proc = null;
    },
    async start() {
      proc ??= await launch(port);
    },
    async stop() {
      await Promise.all(conns.map((nc) => nc.close().catch(() => undefined)));
      await proc?.stop(5_000);
      proc = null;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
