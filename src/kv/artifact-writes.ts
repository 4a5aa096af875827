// The operator writes on script objects and app packages, each with its receipt (`script.put`,
// `script.remove`, `package.put`, `package.remove`). A version is treated as immutable: requests
// pin the sha256 it had when they were published, so replacing it makes those runs refuse with
// `sha256_mismatch`. Putting other bytes under an existing version is therefore refused unless
// forced, and removing a version that jobs still name is refused unless forced.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { NatsConnection } from '@nats-io/transport-node';
import { FILE_NAME_RULE, PackageFileName, type AuditEvent } from '../wire/index.js';
import {
  ArtifactStore,
  WRITE_CHUNK_BYTES,
  requireRef,
  type ArtifactInfo,
  type ArtifactKind,
} from './artifact-store.js';
import { publishAudit } from './audit-log.js';
import { ConflictError, InvalidInputError } from './errors.js';
import { JobStore, type WriteMeta } from './job-store.js';

/** Room kept free in a store besides the object itself: chunk subjects and headers, ~1%. */
const OVERHEAD = 1.01;

export type ArtifactPut = {
  kind: ArtifactKind;
  ref: string;
  /** The file to upload; its base name is what endpoints save it as. */
  path: string;
  /** Replace a version that exists with other bytes. Default false. */
  force?: boolean;
  meta: WriteMeta;
};

export type ArtifactPutResult = {
  action: 'created' | 'replaced' | 'unchanged';
  info: ArtifactInfo;
  /** What was there before (replaced, unchanged), else null. */
  before: ArtifactInfo | null;
  /** Null when nothing was written (unchanged). */
  receipt: AuditEvent | null;
};

/** sha256 (hex) of a file, read as a stream. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path, { highWaterMark: WRITE_CHUNK_BYTES }), hash);
  return hash.digest('hex');
}

/**
 * A file as a pull-based byte stream: each read() reads one chunk from disk, so a consumer that
 * waits (for a PubAck) holds back the reading.
 */
export function fileSource(path: string): ReadableStream<Uint8Array> {
  let handle: Awaited<ReturnType<typeof open>> | null = null;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        handle ??= await open(path, 'r');
        const buf = Buffer.allocUnsafe(WRITE_CHUNK_BYTES);
        const { bytesRead } = await handle.read(buf, 0, buf.length, null);
        if (bytesRead === 0) {
          await handle.close();
          handle = null;
          controller.close();
          return;
        }
        controller.enqueue(new Uint8Array(buf.buffer, buf.byteOffset, bytesRead));
      },
      async cancel() {
        await handle?.close();
        handle = null;
      },
    },
    { highWaterMark: 0 },
  );
}

export async function putArtifact(nc: NatsConnection, input: ArtifactPut): Promise<ArtifactPutResult> {
  const { kind, ref, path } = input;
  requireRef(kind, ref);
  const st = await stat(path).catch((err: Error) => {
    throw new InvalidInputError(`${path}: cannot read (${err.message})`, { cause: err });
  });
  if (!st.isFile()) throw new InvalidInputError(`${path}: not a regular file`);
  const file = basename(path);
  if (!PackageFileName.safeParse(file).success)
    throw new InvalidInputError(`${path}: '${file}' ${FILE_NAME_RULE}`);
  const sha256 = await sha256File(path);
  const store = await ArtifactStore.open(nc, kind);
  const before = await store.info(ref);
  if (before && before.sha256 === sha256 && before.file === file)
    return { action: 'unchanged', info: before, before, receipt: null };
  if (before && !input.force) {
    throw new ConflictError(
      `${kind} '${ref}' already exists with other content (sha256 ${before.sha256}, ${before.size} bytes, stored ${before.storedAt}); ` +
        'runs pin the sha256, so put a new version, or pass --force to replace it (published runs that pinned the old one will refuse with sha256_mismatch)',
    );
  }
  const { bytes, maxBytes } = await store.usage(nc);
  const need = Math.ceil(st.size * OVERHEAD);
  if (maxBytes > 0 && bytes + need > maxBytes) {
    throw new Error(
      `${path} is ${st.size} bytes but the ${store.storeName} store has ${Math.max(0, maxBytes - bytes)} of ${maxBytes} bytes free; ` +
        `remove old versions (baton ${kind}s rm), or raise the limits with baton nats setup --limit-scale (docs/operations.md)`,
    );
  }
  const info = await store.write(ref, file, fileSource(path));
  if (info.sha256 !== sha256) {
    throw new ConflictError(
      `${path} changed while it was uploaded (sha256 ${sha256} before, ${info.sha256} stored); put it again`,
    );
  }
  const receipt = await publishAudit(nc, {
    ...input.meta,
    action: `${kind}.put`,
    target: { kind, id: ref },
    revisionBefore: before?.revision ?? null,
    revisionAfter: info.revision,
    summary: `${before ? 'replaced' : 'put'} ${kind} ${ref} (${info.size} bytes, sha256 ${info.sha256.slice(0, 12)})`,
    details: {
      sha256: info.sha256,
      size: info.size,
      file,
      ...(before ? { replacedSha256: before.sha256 } : {}),
    },
  });
  return { action: before ? 'replaced' : 'created', info, before, receipt };
}

/** Job ids whose manifests name `ref` as their script object (kind script) or a package. */
export async function jobsUsing(nc: NatsConnection, kind: ArtifactKind, ref: string): Promise<string[]> {
  const jobs = await (await JobStore.open(nc)).list();
  return jobs
    .filter((j) =>
      kind === 'script'
        ? j.manifest.execute.scriptObject === ref
        : (j.manifest.execute.packages ?? []).includes(ref),
    )
    .map((j) => j.id)
    .sort();
}

export async function removeArtifact(
  nc: NatsConnection,
  input: { kind: ArtifactKind; ref: string; force?: boolean; meta: WriteMeta },
): Promise<{ removed: ArtifactInfo; receipt: AuditEvent; usedBy: string[] }> {
  const { kind, ref } = input;
  requireRef(kind, ref);
  const store = await ArtifactStore.open(nc, kind);
  const info = await store.require(ref);
  const usedBy = await jobsUsing(nc, kind, ref);
  if (usedBy.length > 0 && !input.force) {
    throw new ConflictError(
      `${kind} '${ref}' is used by job(s) ${usedBy.join(', ')}; their runs would fail. Change them first, or pass --force`,
    );
  }
  await store.remove(ref);
  const receipt = await publishAudit(nc, {
    ...input.meta,
    action: `${kind}.remove`,
    target: { kind, id: ref },
    revisionBefore: info.revision,
    revisionAfter: null,
    summary: `removed ${kind} ${ref} (sha256 ${info.sha256.slice(0, 12)})${usedBy.length ? `; still used by ${usedBy.length} job(s)` : ''}`,
    details: { sha256: info.sha256, size: info.size, ...(usedBy.length ? { usedBy } : {}) },
  });
  return { removed: info, receipt, usedBy };
}
