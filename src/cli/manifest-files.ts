// Collects the manifest files named by `-f` (files, or folders searched for *.yaml / *.yml).
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { MAX_MANIFEST_BYTES } from '../wire/index.js';
import { CliError, EXIT } from './exit-codes.js';

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(path)));
    else if (['.yaml', '.yml'].includes(extname(entry.name))) out.push(path);
  }
  return out;
}

export async function readManifestFiles(
  paths: readonly string[],
): Promise<{ file: string; text: Uint8Array }[]> {
  const files: string[] = [];
  for (const p of paths) {
    let st;
    try {
      st = await stat(p);
    } catch {
      throw new CliError(`${p}: no such file or folder`, EXIT.usage);
    }
    if (st.isDirectory()) {
      const found = await walk(p);
      if (found.length === 0) throw new CliError(`${p}: the folder holds no .yaml or .yml files`, EXIT.usage);
      files.push(...found);
    } else files.push(p);
  }
  const out: { file: string; text: Uint8Array }[] = [];
  for (const file of files) {
    const { size } = await stat(file);
    // Refused before reading, so a mistaken `-f` on a huge file costs nothing.
    if (size > MAX_MANIFEST_BYTES) {
      throw new CliError(
        `${file}: ${size} bytes is too large for a manifest file (max ${MAX_MANIFEST_BYTES} bytes)`,
        EXIT.usage,
      );
    }
    out.push({ file, text: await readFile(file) });
  }
  return out;
}
