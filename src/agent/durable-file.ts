// Crash-safe small files: write to a temp name, fsync, rename over the target, fsync the folder.
// A reader sees the old content or the new one, never a torn write. Appends to an existing file
// are synced without the folder (no directory entry changes); a reader must expect that a crash
// can leave the last append torn.
import { constants } from 'node:fs';
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

/**
 * Appends to a file that exists (ENOENT otherwise: an append never creates a file, which would
 * need the folder synced) and waits for the data and the new size to be on disk (fdatasync).
 */
export async function appendFileDurable(path: string, data: string): Promise<void> {
  const fh = await open(path, constants.O_WRONLY | constants.O_APPEND);
  try {
    await fh.write(data);
    await fh.datasync();
  } finally {
    await fh.close();
  }
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
