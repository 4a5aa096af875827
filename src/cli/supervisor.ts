// Keeps one child process of `baton up` running: output to a log file, restart with backoff after
// an unexpected exit, graceful stop (SIGTERM, then SIGKILL after a grace period).
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';

export type ServiceSpec = {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  logFile: string;
};

export type ServiceEvent =
  | { kind: 'started'; name: string; pid: number }
  | { kind: 'exited'; name: string; code: number | null; signal: string | null; restartInMs: number };

const MIN_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;
/** A child that ran this long before exiting is considered healthy; its backoff resets. */
const HEALTHY_AFTER_MS = 60_000;

export class Service {
  #child: ChildProcess | null = null;
  #stopping = false;
  #backoffMs = MIN_BACKOFF_MS;
  #loop: Promise<void> | null = null;
  readonly #abort = new AbortController();

  constructor(
    readonly spec: ServiceSpec,
    private readonly onEvent: (e: ServiceEvent) => void,
  ) {}

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Starts the restart loop; idempotent. */
  start(): void {
    this.#loop ??= this.#run();
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      const log = createWriteStream(this.spec.logFile, { flags: 'a' });
      const started = Date.now();
      const child = spawn(this.spec.command, this.spec.args, {
        env: { ...process.env, ...this.spec.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      this.#child = child;
      child.stdout.pipe(log);
      child.stderr.pipe(log);
      const exit = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
        child.once('exit', (code, signal) => resolve({ code, signal }));
        child.once('error', () => resolve({ code: null, signal: null }));
      });
      if (child.pid) this.onEvent({ kind: 'started', name: this.spec.name, pid: child.pid });
      const { code, signal } = await exit;
      log.end();
      this.#child = null;
      if (this.#stopping) return;
      if (Date.now() - started > HEALTHY_AFTER_MS) this.#backoffMs = MIN_BACKOFF_MS;
      this.onEvent({ kind: 'exited', name: this.spec.name, code, signal, restartInMs: this.#backoffMs });
      await delay(this.#backoffMs, undefined, { signal: this.#abort.signal }).catch(() => undefined);
      this.#backoffMs = Math.min(MAX_BACKOFF_MS, this.#backoffMs * 2);
    }
  }

  /** Stops the child (SIGTERM, SIGKILL after `graceMs`) and the restart loop; idempotent. */
  async stop(graceMs = 15_000): Promise<void> {
    this.#stopping = true;
    this.#abort.abort();
    const child = this.#child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await gone;
      clearTimeout(timer);
    }
    await this.#loop;
  }
}
