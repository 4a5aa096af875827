// Ending a script's whole process tree. On POSIX every script is its own process group (spawned
// detached), so one signal to -pgid reaches every descendant that did not leave the group. On
// Windows `taskkill /T` walks the tree.
import { spawn } from 'node:child_process';

export const isWindows = process.platform === 'win32';

/** Sends `signal` to the process group led by `pid`; false when it no longer exists. */
export function signalTree(pid: number, signal: NodeJS.Signals): boolean {
  if (isWindows) {
    spawn('taskkill', ['/PID', String(pid), '/T', '/F'], { stdio: 'ignore', windowsHide: true }).on(
      'error',
      () => {},
    );
    return true;
  }
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** True while any process of the group led by `pid` is alive. */
export function treeAlive(pid: number): boolean {
  if (isWindows) {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}
