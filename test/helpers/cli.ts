// Runs the real `baton` command as a child process, the way a user does.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BATON_MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export type CliResult = { code: number | null; stdout: string; stderr: string };

export type CliOptions = { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number };

/** Runs `baton <args>`; never throws on a non-zero exit (tests assert the code). */
export function baton(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BATON_MAIN, ...args], {
      cwd: opts.cwd,
      env: { ...process.env, BATON_NATS_URL: '', BATON_API_URL: '', BATON_TOKEN: '', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`baton ${args.join(' ')} did not finish within ${opts.timeoutMs ?? 30_000} ms\n${stderr}`),
      );
    }, opts.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}
