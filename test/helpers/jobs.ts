import type { NatsConnection } from '@nats-io/transport-node';
import { JobStore } from '../../src/kv/index.js';
import { parseManifestFile } from '../../src/wire/index.js';

/** Stores a job from YAML fields (as an apply would), returning its revision. */
export async function putJob(
  nc: NatsConnection,
  id: string,
  script: string,
  /**
   * `execute`: YAML lines under `execute:` used instead of the inline `script`; `extra`: top-level
   * YAML lines (e.g. `retry: ...`).
   */
  opts: { version?: string; timeout?: string; shell?: string; execute?: string; extra?: string } = {},
): Promise<number> {
  const body =
    opts.execute ??
    `  script: |\n${script
      .split('\n')
      .map((l) => `    ${l}`)
      .join('\n')}\n`;
  const yaml = `kind: job\nid: ${id}\nversion: "${opts.version ?? '1'}"\n${opts.extra ?? ''}execute:\n  shell: ${opts.shell ?? 'sh'}\n  timeout: ${opts.timeout ?? '30s'}\n${body}`;
  const job = parseManifestFile(yaml, `${id}.yaml`).jobs[0]!;
  const store = await JobStore.open(nc);
  const current = await store.get(id);
  return store.put(job.manifest, job.yaml, current?.revision ?? null, {
    actor: { kind: 'user', name: 'test' },
    source: { via: 'apply' },
  });
}
