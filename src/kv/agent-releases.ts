// The `agent_releases` object store: one agent bundle per version (docs/agents.md, "Self-update").
// Each object carries the sha256 (hex) of its bytes, computed by whoever put it, which agents check
// after the download before they unpack anything. Written and read with bounded memory, as script
// objects and packages are (artifact-store.ts).
import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { Objm, type ObjectInfo, type ObjectStore } from '@nats-io/obj';
import { OBJECT_STORES } from './names.js';
import { ConflictError, NotFoundError } from './errors.js';
import { WRITE_CHUNK_BYTES, readObjectChunks } from './artifact-store.js';
import { fileSource, sha256File } from './artifact-writes.js';

export type AgentRelease = {
  version: string;
  sha256: string;
  bytes: number;
  /** When it was put (the object's mtime). */
  at: string;
  revision: number;
};

export class ReleaseIntegrityError extends Error {
  override name = 'ReleaseIntegrityError';
}

const toRelease = (i: ObjectInfo): AgentRelease => ({
  version: i.name,
  sha256: i.metadata?.['sha256'] ?? '',
  bytes: i.size,
  at: i.mtime,
  revision: i.revision,
});

export class AgentReleaseStore {
  private constructor(
    readonly store: ObjectStore,
    private readonly js: JetStreamClient,
  ) {}

  static async open(nc: NatsConnection): Promise<AgentReleaseStore> {
    return new AgentReleaseStore(await new Objm(nc).open(OBJECT_STORES.agentReleases), jetstream(nc));
  }

  /** The release of a version; null when there is none. */
  async get(version: string): Promise<AgentRelease | null> {
    const info = await this.store.info(version);
    return info && !info.deleted ? toRelease(info) : null;
  }

  async list(): Promise<AgentRelease[]> {
    return (await this.store.list())
      .filter((i) => !i.deleted)
      .map(toRelease)
      .sort((a, b) => a.at.localeCompare(b.at));
  }

  /**
   * Stores the bundle file as `version`. Releases are immutable: an existing version is refused
   * (ConflictError) unless `replace`. Returns the stored release and the one it replaced.
   */
  async put(
    version: string,
    file: string,
    opts: { replace?: boolean } = {},
  ): Promise<{ release: AgentRelease; replaced: AgentRelease | null }> {
    const replaced = await this.get(version);
    if (replaced && !opts.replace) {
      throw new ConflictError(
        `agent release ${version} exists (sha256 ${replaced.sha256.slice(0, 12)}…, put ${replaced.at}); releases are immutable: use a new version, or --force to replace it`,
      );
    }
    const sha256 = await sha256File(file);
    const size = (await stat(file)).size;
    const info = await this.store.put(
      {
        name: version,
        description: `baton agent ${version}`,
        metadata: { sha256, version },
        options: { max_chunk_size: WRITE_CHUNK_BYTES },
      },
      fileSource(file),
    );
    if (info.size !== size) throw new Error(`stored ${info.size} bytes of ${size} for release ${version}`);
    return { release: toRelease(info), replaced };
  }

  /**
   * Downloads `version` into `file`, hashing as it streams; throws ReleaseIntegrityError when the
   * bytes do not match the sha256 the release was put with (the file is left for the caller to
   * remove). Returns the release as described.
   */
  async download(version: string, file: string, signal?: AbortSignal): Promise<AgentRelease> {
    const info = await this.store.info(version);
    if (!info || info.deleted)
      throw new NotFoundError(`agent release '${version}' does not exist in ${OBJECT_STORES.agentReleases}`);
    const release = toRelease(info);
    const h = createHash('sha256');
    const out = await open(file, 'w', 0o600);
    try {
      const what = `agent release ${version}`;
      for await (const chunk of readObjectChunks(this.js, OBJECT_STORES.agentReleases, what, info, signal)) {
        h.update(chunk);
        await out.write(chunk);
      }
      await out.sync();
    } finally {
      await out.close();
    }
    const actual = h.digest('hex');
    if (actual !== release.sha256) {
      throw new ReleaseIntegrityError(
        `agent release ${version}: sha256 of the download is ${actual}, the release says ${release.sha256 || '(none)'}`,
      );
    }
    return release;
  }
}
