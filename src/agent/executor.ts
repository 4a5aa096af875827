// Runs one script as a child process tree: script file in a per-run folder, captured output,
// timeout and kill that end the whole tree (SIGTERM, then SIGKILL after the grace period).
// When the main process exits, leftover processes of its group are ended too: a run owns its tree.
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OutputCapture, type CapturedStream } from './output-capture.js';
import { isWindows, signalTree, treeAlive } from './process-tree.js';
import { shellCommand, type Shell } from './shells.js';

/** How long to wait for the output pipes after the main process exited. */
const PIPE_DRAIN_MS = 2_000;

export type ExecuteSpec = {
  shell: Shell;
  body: string;
  /** Folder for the script file and spill files of this run (created). */
  workDir: string;
  cwd?: string;
  /** The script's variables, on top of the agent's own environment (copied at spawn). */
  env: Record<string, string>;
  timeoutMs: number;
  maxOutputBytes: number;
  killGraceMs: number;
  /** Aborting kills the tree; the outcome is `killed` (or what `abortStatus` says). */
  signal: AbortSignal;
  onSpawn?: (pid: number) => void;
  onChunk?: (stream: 'stdout' | 'stderr', chunk: Buffer) => void;
};

export type ExecuteOutcome = {
  status: 'ok' | 'failed' | 'timeout' | 'killed' | 'error';
  exitCode: number | null;
  reason?: string;
  stdout: CapturedStream;
  stderr: CapturedStream;
  startedAt: Date;
  finishedAt: Date;
  durationMs: number;
};

export async function executeScript(spec: ExecuteSpec): Promise<ExecuteOutcome> {
  await mkdir(spec.workDir, { recursive: true });
  const scriptFile = join(spec.workDir, `script${shellCommand(spec.shell, '').extension}`);
  // cmd.exe reads scripts in the OEM code page; CRLF line ends keep it happy.
  await writeFile(scriptFile, spec.shell === 'cmd' ? spec.body.replace(/\r?\n/g, '\r\n') : spec.body, {
    mode: 0o700,
  });
  const { command, args } = shellCommand(spec.shell, scriptFile);
  const stdout = new OutputCapture(spec.maxOutputBytes, join(spec.workDir, 'stdout.spill'));
  const stderr = new OutputCapture(spec.maxOutputBytes, join(spec.workDir, 'stderr.spill'));
  const startedAt = new Date();
  const finish = (
    status: ExecuteOutcome['status'],
    exitCode: number | null,
    reason?: string,
  ): ExecuteOutcome => {
    const finishedAt = new Date();
    return {
      status,
      exitCode,
      ...(reason ? { reason } : {}),
      stdout: stdout.finish(),
      stderr: stderr.finish(),
      startedAt,
      finishedAt,
      durationMs: finishedAt.getTime() - startedAt.getTime(),
    };
  };

  let child;
  try {
    child = spawn(command, args, {
      cwd: spec.cwd ?? spec.workDir,
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: !isWindows,
      windowsHide: true,
    });
  } catch (err) {
    stderr.write(Buffer.from(`baton: cannot start ${command}: ${(err as Error).message}\n`));
    return finish('error', null, 'spawn_failed');
  }
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  child.stdout.on('data', (b: Buffer) => {
    stdout.write(b);
    spec.onChunk?.('stdout', b);
  });
  child.stderr.on('data', (b: Buffer) => {
    stderr.write(b);
    spec.onChunk?.('stderr', b);
  });
  if (child.pid !== undefined) spec.onSpawn?.(child.pid);
  const pid = child.pid;

  let stoppedBy: 'timeout' | 'killed' | null = null;
  let killTimer: NodeJS.Timeout | undefined;
  const stop = (why: 'timeout' | 'killed') => {
    if (stoppedBy || pid === undefined) return;
    stoppedBy = why;
    signalTree(pid, 'SIGTERM');
    killTimer = setTimeout(() => signalTree(pid, 'SIGKILL'), spec.killGraceMs);
  };
  const timer = setTimeout(() => stop('timeout'), spec.timeoutMs);
  const onAbort = () => stop('killed');
  if (spec.signal.aborted) onAbort();
  else spec.signal.addEventListener('abort', onAbort, { once: true });

  const first = await Promise.race([
    exited.then((e) => ({ kind: 'exit' as const, ...e })),
    spawnError.then((e) => ({ kind: 'error' as const, e })),
  ]);
  clearTimeout(timer);
  spec.signal.removeEventListener('abort', onAbort);
  if (first.kind === 'error') {
    clearTimeout(killTimer);
    stderr.write(Buffer.from(`baton: cannot start ${command}: ${first.e.message}\n`));
    return finish('error', null, 'spawn_failed');
  }
  // The main process is gone; end what it left running in its group, then collect the pipes.
  if (pid !== undefined && treeAlive(pid)) signalTree(pid, 'SIGKILL');
  // A descendant that left the group (setsid) may still hold the pipes: stop waiting for it.
  const pipesTimer = setTimeout(() => {
    child.stdout.destroy();
    child.stderr.destroy();
  }, PIPE_DRAIN_MS);
  await closed;
  clearTimeout(pipesTimer);
  clearTimeout(killTimer);
  if (stoppedBy === 'timeout') return finish('timeout', first.code, 'timeout');
  if (stoppedBy === 'killed') return finish('killed', first.code, 'killed');
  if (first.code === 0) return finish('ok', 0);
  if (first.code === null)
    return finish('failed', null, `signal_${(first.signal ?? 'unknown').toLowerCase()}`);
  return finish('failed', first.code);
}
