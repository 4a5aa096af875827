// The agent's own inventory snapshot (`source: builtin`), sent at start and then daily: the facts
// every endpoint has, without a job. Only facts that change rarely, plus disk space, so the change
// history (`baton inventory <pc> --history`) stays readable.
import { statfs } from 'node:fs/promises';
import { arch, cpus, hostname, platform, release, totalmem, type, version } from 'node:os';
import { parse } from 'node:path';

/** Default time between built-in snapshots: 24 hours. */
export const BUILTIN_INVENTORY_INTERVAL_MS = 24 * 60 * 60 * 1000;

type Disk = { path: string; totalBytes: number; freeBytes: number };

async function disk(path: string): Promise<Disk | undefined> {
  try {
    const s = await statfs(path);
    return { path, totalBytes: s.blocks * s.bsize, freeBytes: s.bavail * s.bsize };
  } catch {
    return undefined; // not every platform reports every path; the snapshot has what it could read
  }
}

/** os, kernel, cpu, memory and disks (the root filesystem and the agent's data folder). */
export async function collectBuiltinInventory(dataDir: string): Promise<Record<string, unknown>> {
  const cpuList = cpus();
  const disks: Record<string, Disk> = {};
  const root = await disk(parse(dataDir).root || '/');
  if (root) disks['root'] = root;
  const data = await disk(dataDir);
  if (data) disks['data'] = data;
  return {
    hostname: hostname(),
    os: { platform: platform(), type: type(), arch: arch() },
    kernel: { release: release(), version: version() },
    cpu: { model: cpuList[0]?.model.trim() ?? 'unknown', count: cpuList.length },
    memory: { totalBytes: totalmem() },
    disks,
    node: process.version,
  };
}
