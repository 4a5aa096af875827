// The agent until it is asked to stop, in whatever runs it: the launcher's worker thread
// (agent-worker.ts, `baton agent`), this process alone (`baton agent --no-self-update`), or a child
// process of a launcher from before the worker thread (`baton agent --worker`, Node IPC: kept so
// that launchers installed earlier can run releases built from this code). Loaded lazily by
// `baton agent`: it pulls in the agent, the NATS client, zod and pino.
import { Agent, type AgentWorkerData, type LauncherMessage } from '../agent/index.js';
import { processLogger } from '../shared/process-logger.js';
import { packageVersion } from '../shared/paths.js';
import { CliError, EXIT } from './exit-codes.js';

/** What the agent runs with: the launcher's worker data without its envelope. */
export type AgentRunOptions = Omit<AgentWorkerData, 'v' | 'updatedFrom'>;

/** How the agent talks to what runs it. */
export type AgentHost = {
  /** Messages to the launcher; without it the agent runs alone and ignores `target_version`. */
  send?: (m: LauncherMessage) => Promise<void>;
  /** Registers what to call when the agent is asked to stop (a signal, or the launcher's message). */
  onStop: (stop: () => void) => void;
  /** The version the launcher just switched from. */
  updatedFrom?: string;
  /** The agent ended: let go of what keeps the thread or process alive. */
  close?: () => void;
};

/** SIGINT/SIGTERM stop the agent. */
export function signalHost(): AgentHost {
  return {
    onStop: (stop) => {
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    },
  };
}

/**
 * A child process of a launcher from before the worker thread (Node IPC): signals stop it; when
 * the launcher is gone it exits at once, as if it had crashed with it (the next launcher recovers).
 */
export function ipcChildHost(): AgentHost {
  const orphaned = () => {
    process.stderr.write('baton: the launcher is gone; exiting\n');
    process.exit(EXIT.failed);
  };
  process.on('disconnect', orphaned);
  const updatedFrom = process.env['BATON_AGENT_UPDATED_FROM'];
  return {
    ...signalHost(),
    send: (m) =>
      new Promise<void>((done) => (process.send ? process.send(m, undefined, {}, () => done()) : done())),
    ...(updatedFrom ? { updatedFrom } : {}),
    close: () => {
      process.off('disconnect', orphaned);
      process.disconnect?.();
    },
  };
}

/**
 * Runs the agent until the host says stop; under a launcher also until it staged a release (then
 * it lets running scripts finish and tells the launcher). Throws CliError (exit 5) when the server
 * closed its connection (credentials revoked or refused): a restart cannot help.
 */
export async function runAgent(o: AgentRunOptions, host: AgentHost): Promise<void> {
  const log = processLogger('baton-agent', { pcId: o.pcId });
  let restartTo: string | null = null;
  let wake: () => void = () => undefined;
  const stopped = new Promise<void>((done) => (wake = done));
  host.onStop(() => wake());
  const agent = new Agent({
    pcId: o.pcId,
    servers: o.servers,
    dataDir: o.dataDir,
    ...(o.credsFile ? { credsFile: o.credsFile } : {}),
    ...(o.caFile ? { caFile: o.caFile } : {}),
    logger: log,
    stopGraceMs: o.stopGraceMs,
    ...(host.send
      ? {
          selfUpdate: {
            restart: (version: string) => {
              restartTo = version;
              wake();
            },
            ...(host.updatedFrom ? { updatedFrom: host.updatedFrom } : {}),
          },
        }
      : {}),
  });
  // A stop while the agent still waits for an unreachable server ends it cleanly (exit 0).
  const started = await Promise.race([
    agent.start().then(
      () => null,
      (err: unknown) => ({ err }),
    ),
    stopped.then(() => 'stopped' as const),
  ]);
  if (started === 'stopped') {
    await agent.stop();
    host.close?.();
    return;
  }
  if (started !== null) throw started.err;
  await host.send?.({ type: 'healthy', version: packageVersion() });
  const lost = await Promise.race([stopped.then(() => null), agent.connectionLost()]);
  // A restart into a new release waits for running scripts (each is bounded by its timeout).
  await agent.stop(restartTo === null ? {} : { graceMs: Number.POSITIVE_INFINITY });
  if (restartTo !== null) await host.send?.({ type: 'restart', version: restartTo });
  host.close?.();
  if (lost) {
    throw new CliError(
      `the NATS server closed this agent's connection: ${lost.message}` +
        (o.credsFile
          ? ` (credentials ${o.credsFile} revoked or refused; enroll again with a new token)`
          : ''),
      EXIT.unavailable,
    );
  }
}
