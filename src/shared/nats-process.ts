// Starts and stops one nats-server child process. Used by `baton up` (embedded default) and by the
// test harness, so both launch the server the same way: loopback only, JetStream on, a ports file
// telling us where it listens (so `-p -1` random ports work without guessing).
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

export type NatsProcessOptions = {
  /** Path of the nats-server binary. */
  binary: string;
  /** JetStream store directory (created if missing). */
  storeDir: string;
  /** Folder for the ports file; created if missing. */
  runDir: string;
  /** A server config file passed with `-c`; flags below override what it sets. */
  configFile?: string;
  /** Listen address. Default `127.0.0.1`. */
  host?: string;
  /** Client port; `-1` picks a random free port. Default `-1`. */
  port?: number;
  /** More command line flags, appended last. Default none. */
  extraArgs?: string[];
  /** Server output goes to this file when set; otherwise the last lines are kept for errors. */
  logFile?: string;
  /** How long to wait for the server to listen. Default 15s. */
  readyTimeoutMs?: number;
};

export type NatsProcess = {
  url: string;
  port: number;
  pid: number;
  child: ChildProcess;
  /** Resolves with the exit code (or null after a signal) when the process ends. */
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after `graceMs` (default 10s); resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
};

export class NatsProcessError extends Error {
  override name = 'NatsProcessError';
}

const TAIL_LINES = 40;

export async function startNatsProcess(opts: NatsProcessOptions): Promise<NatsProcess> {
  await mkdir(opts.storeDir, { recursive: true });
  await mkdir(opts.runDir, { recursive: true });
  // Stale ports files from an earlier run in the same folder would be mistaken for ours.
  for (const f of await readdir(opts.runDir)) {
    if (f.startsWith('nats-server_') && f.endsWith('.ports')) await rm(join(opts.runDir, f), { force: true });
  }
  const args = [
    ...(opts.configFile ? ['-c', opts.configFile] : []),
    '-js',
    '-a', opts.host ?? '127.0.0.1',
    '-p', String(opts.port ?? -1),
    '-sd', opts.storeDir,
    '--ports_file_dir', opts.runDir,
    ...(opts.extraArgs ?? []),
  ]; // prettier-ignore
  const child = spawn(opts.binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const tail: string[] = [];
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) if (line) tail.push(line);
    tail.splice(0, Math.max(0, tail.length - TAIL_LINES));
  };
  if (opts.logFile) {
    const log = createWriteStream(opts.logFile, { flags: 'a' });
    child.stdout.pipe(log);
    child.stderr.pipe(log);
  }
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));

  const portsFile = join(opts.runDir, `nats-server_${child.pid}.ports`);
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 15_000);
  let url: string | undefined;
  while (!url) {
    const early = await Promise.race([
      exited.then((c) => `exited with code ${c}`),
      spawnError.then((e) => e.message),
      delay(25).then(() => null),
    ]);
    if (early !== null) {
      throw new NatsProcessError(`nats-server ${early} before it was ready:\n${tail.join('\n')}`);
    }
    try {
      const ports = JSON.parse(await readFile(portsFile, 'utf8')) as { nats?: string[] };
      url = ports.nats?.[0];
    } catch {
      // not written yet
    }
    if (!url && Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new NatsProcessError(
        `nats-server did not listen within ${opts.readyTimeoutMs ?? 15_000} ms:\n${tail.join('\n')}`,
      );
    }
  }
  const port = Number(new URL(url).port);
  return {
    url,
    port,
    pid: child.pid!,
    child,
    exited,
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      // The grace timer is cancelled as soon as the server exits, so it never holds the process.
      const grace = new AbortController();
      const done = await Promise.race([
        exited.then(() => true),
        delay(graceMs, false, { signal: grace.signal }).catch(() => false),
      ]);
      grace.abort();
      if (!done) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}
