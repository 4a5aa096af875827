// The launcher: what `baton agent` runs. A small, stable process that starts the agent as a child
// from the release `releases/current.json` points to (or from its own install), restarts it when
// it crashes, switches to a new release when the agent asks for it (after it downloaded, checked
// and unpacked it), and rolls back when a new release does not report healthy within a bound.
// It never connects to NATS: the agent it runs reports everything (docs/agents.md, "Self-update").
//
// Protocol with the child (Node IPC): the child sends {type:'healthy', version} once it started
// (connected, consumer bound, online), and {type:'restart', version} before it exits to be
// replaced by `version`. A child whose launcher dies exits at once (it sees the IPC channel close).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { BUNDLE_ENTRY } from '../shared/agent-bundle.js';
import type { Logger } from '../shared/logger.js';
import { packageVersion } from '../shared/paths.js';
import { releaseFiles, type ReleasePointer } from './release-files.js';

export type LauncherOptions = {
  /** The agent's data folder; releases live in `<dataDir>/releases`. */
  dataDir: string;
  /** The base install: the package folder with package.json, dist/src and node_modules. */
  baseRoot: string;
  /** The child's arguments after its `main.js`, e.g. `['agent', '--worker', '--pc-id', 'x']`. */
  workerArgs: string[];
  /** Extra environment of the child. Default none. */
  env?: NodeJS.ProcessEnv;
  /** Time a new release gets to report healthy before it is rolled back. Default 60 s. */
  healthTimeoutMs?: number;
  /** On stop, time the child gets to exit after SIGTERM before SIGKILL. Default 60 s. */
  stopTimeoutMs?: number;
  /**
   * Exit codes of a healthy child that end the launcher too (with that code) instead of a
   * restart: the agent said restarting cannot help (revoked credentials). Default none.
   */
  fatalExitCodes?: readonly number[];
  logger: Logger;
};

/** Messages a child sends its launcher. */
export type LauncherMessage = { type: 'healthy'; version: string } | { type: 'restart'; version: string };

type ChildEnd =
  | { kind: 'restart'; version: string; healthy: boolean }
  | { kind: 'exit'; healthy: boolean; reason: string; code: number | null };

const MIN_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 30_000;

export class Launcher {
  readonly #o: LauncherOptions;
  readonly #files: ReturnType<typeof releaseFiles>;
  readonly #log: Logger;
  #child: ChildProcess | null = null;
  #stopping = false;
  readonly #abort = new AbortController();
  #loop: Promise<number | null> | null = null;

  constructor(o: LauncherOptions) {
    this.#o = o;
    this.#files = releaseFiles(o.dataDir);
    this.#log = o.logger;
  }

  /** Keeps a child running until stop() (then null) or until it exits with a fatal code (that code); idempotent. */
  run(): Promise<number | null> {
    this.#loop ??= this.#run();
    return this.#loop;
  }

  #name(version: string | null): string {
    return version ?? packageVersion(this.#o.baseRoot);
  }

  async #run(): Promise<number | null> {
    let cur: ReleasePointer = (await this.#files.pointer().catch((err: unknown) => {
      this.#log.error({ err }, 'unreadable releases/current.json; starting the base install');
      return null;
    })) ?? { version: null, previous: null, trial: false };
    if (cur.version !== null && !existsSync(this.#files.entry(cur.version))) {
      this.#log.error({ version: cur.version }, 'the current release is missing; starting the base install');
      cur = { version: null, previous: null, trial: false };
    }
    let backoffMs = MIN_BACKOFF_MS;
    let updatedFrom: string | undefined;
    while (!this.#stopping) {
      const end = await this.#runChild(cur, updatedFrom);
      updatedFrom = undefined;
      if (this.#stopping) return null;
      if (
        end.kind === 'exit' &&
        end.healthy &&
        end.code !== null &&
        this.#o.fatalExitCodes?.includes(end.code)
      ) {
        this.#log.error({ code: end.code }, 'the agent exited with a code a restart cannot help; stopping');
        return end.code;
      }
      if (end.kind === 'restart' && existsSync(this.#files.entry(end.version))) {
        this.#log.info(
          { from: this.#name(cur.version), to: end.version },
          'switching to a new agent release',
        );
        updatedFrom = this.#name(cur.version);
        cur = { version: end.version, previous: cur.version, trial: true };
        await this.#files.setPointer(cur);
        backoffMs = MIN_BACKOFF_MS;
        continue;
      }
      if (end.kind === 'restart')
        this.#log.error({ version: end.version }, 'asked to switch to a release that is not unpacked');
      if (cur.trial && !end.healthy && cur.version !== null) {
        const failed = cur.version;
        const reason = end.kind === 'exit' ? end.reason : 'restarted before it reported healthy';
        const staged = await this.#files.staged(failed).catch(() => null);
        cur = { version: cur.previous, previous: null, trial: false };
        await this.#files.setFailed({
          version: failed, sha256: staged?.sha256 ?? '', reason, at: new Date().toISOString(), rolledBackTo: this.#name(cur.version),
        }); // prettier-ignore
        await this.#files.setPointer(cur);
        this.#log.error(
          { version: failed, reason, rolledBackTo: this.#name(cur.version) },
          'agent release failed to start; rolled back',
        );
        continue;
      }
      if (end.healthy) backoffMs = MIN_BACKOFF_MS;
      this.#log.warn({ version: this.#name(cur.version), reason: end.kind === 'exit' ? end.reason : 'restart', restartInMs: backoffMs }, 'agent exited; restarting it'); // prettier-ignore
      await delay(backoffMs, undefined, { signal: this.#abort.signal }).catch(() => undefined);
      backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs * 2);
    }
    return null;
  }

  /** Runs one child to its end; during a trial, a child not healthy in time is stopped. */
  async #runChild(cur: ReleasePointer, updatedFrom: string | undefined): Promise<ChildEnd> {
    const entry =
      cur.version === null ? join(this.#o.baseRoot, BUNDLE_ENTRY) : this.#files.entry(cur.version);
    const child = spawn(process.execPath, [entry, ...this.#o.workerArgs], {
      env: {
        ...process.env,
        ...this.#o.env,
        ...(updatedFrom ? { BATON_AGENT_UPDATED_FROM: updatedFrom } : {}),
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#child = child;
    let healthy = false;
    let restart: string | null = null;
    const exited = new Promise<{ reason: string; code: number | null }>((resolveExit) => {
      child.once('exit', (code, signal) =>
        resolveExit({ reason: signal ? `killed by ${signal}` : `exited with code ${code}`, code }),
      );
      child.once('error', (err) => resolveExit({ reason: `could not start: ${err.message}`, code: null }));
    });
    child.on('message', (m: LauncherMessage) => {
      if (m?.type === 'healthy') {
        healthy = true;
        if (cur.trial) {
          cur.trial = false;
          void this.#files.setPointer(cur).then(() => this.#files.clearFailed()).catch((err: unknown) => this.#log.error({ err }, 'could not record the release as healthy')); // prettier-ignore
          this.#log.info({ version: this.#name(cur.version) }, 'agent release healthy');
        }
      } else if (m?.type === 'restart' && typeof m.version === 'string') restart = m.version;
    });
    let timedOut = false;
    const timer = cur.trial
      ? setTimeout(() => {
          if (healthy) return;
          timedOut = true;
          this.#terminate(child);
        }, this.#o.healthTimeoutMs ?? 60_000)
      : null;
    const { reason, code } = await exited;
    if (timer) clearTimeout(timer);
    this.#child = null;
    if (restart !== null) return { kind: 'restart', version: restart, healthy };
    const secs = Math.round((this.#o.healthTimeoutMs ?? 60_000) / 1000);
    return {
      kind: 'exit',
      healthy,
      code,
      reason: timedOut ? `did not report healthy within ${secs}s` : reason,
    };
  }

  #terminate(child: ChildProcess): void {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), this.#o.stopTimeoutMs ?? 60_000);
    child.once('exit', () => clearTimeout(t));
  }

  /** Stops the child (SIGTERM; it finishes gracefully) and the loop; idempotent. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#abort.abort();
    if (this.#child) this.#terminate(this.#child);
    await this.#loop;
  }
}
