// Crash-safe small files: write to a temp name, fsync, rename over the target, fsync the folder.
// A reader sees the old content or the new one, never a torn write.
import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

let tmpCounter = 0;

export async function writeFileDurable(path: string, data: string | Uint8Array): Promise<void> {
  // Unique per call: two writes of the same file in flight must not share (and steal) a temp file.
  const tmp = `${path}.tmp-${process.pid}-${++tmpCounter}`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  await syncDir(dirname(path));
}

export async function syncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // Some platforms (Windows) cannot fsync a folder; the rename is still atomic there.
  } finally {
    await fh?.close();
  }
}

export async function removeDurable(path: string): Promise<void> {
  await rm(path, { force: true });
  await syncDir(dirname(path));
}
