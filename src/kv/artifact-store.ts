// Script objects (`scripts`) and app packages (`app_packages`): objects named `<name>/<version>`
// in a JetStream object store. Both directions stream with bounded memory, whatever the size:
// - writing reads the source through a pull-based ReadableStream, one chunk at a time, and the
//   object store publishes each chunk before it asks for the next;
// - reading does not use ObjectStore.get(): its ReadableStream is filled by a push consumer that
//   never waits for the reader, so a reader slower than the network (a disk, a pipe) buffers the
//   object in memory (measured: a 200 MiB object read at 5 ms per 512 KiB chunk grew the process
//   by 178 MiB through get(), by 7 MiB through read() below). Instead an ordered consumer on the object's chunk subject is fetched in
//   batches of READ_BATCH chunks, the next batch only after the caller took the previous one.
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { Objm, type ObjectInfo, type ObjectStore } from '@nats-io/obj';
import {
  OBJECT_REF_RULE,
  PackageFileName,
  parseObjectRef,
  type PackagePin,
  type ScriptRef,
} from '../wire/index.js';
import type { JobManifest } from '../wire/index.js';
import { InvalidInputError, NotFoundError } from './errors.js';
import { OBJECT_STORES, objectStreamName, type ObjectStoreName } from './names.js';

export type ArtifactKind = 'script' | 'package';

/** The store of each kind. */
export const ARTIFACT_STORES: Record<ArtifactKind, ObjectStoreName> = {
  script: OBJECT_STORES.scripts,
  package: OBJECT_STORES.appPackages,
};

/** Chunks fetched per request when reading: 8 x 512 KiB = 4 MiB in flight at most. */
const READ_BATCH = 8;
/**
 * Bytes per chunk when writing (and read from the source per step). Larger than the object
 * store's default 128 KiB: each chunk waits for its PubAck, so fewer chunks upload faster
 * (300 MiB on loopback: 8.7 s with 128 KiB, 5.4 s with 512 KiB). Clamped to max_payload.
 */
export const WRITE_CHUNK_BYTES = 512 * 1024;

/** One stored object as `ls` and `put` show it. */
export type ArtifactInfo = {
  kind: ArtifactKind;
  /** `<name>/<version>`, the object's name in its store. */
  ref: string;
  name: string;
  version: string;
  sha256: string;
  size: number;
  /** The file name it was put from (and is saved under on endpoints). */
  file: string;
  storedAt: string;
  /** Stream sequence of the object's metadata: changes on every put. Null in listings. */
  revision: number | null;
  /** Id and number of this upload's chunks (internal: what `read` fetches). */
  nuid: string;
  chunks: number;
};

/** A script object or package that is not in its store. */
export class MissingObjectError extends NotFoundError {
  override name = 'NotFoundError';
  constructor(
    readonly kind: ArtifactKind,
    readonly ref: string,
    message: string,
  ) {
    super(message);
  }
}

/** `SHA-256=<base64url>` of an object's info as lowercase hex. */
export function digestHex(digest: string): string {
  const prefix = 'SHA-256=';
  if (!digest.startsWith(prefix)) throw new Error(`unknown object digest '${digest}'`);
  return Buffer.from(digest.slice(prefix.length), 'base64url').toString('hex');
}

/** Throws an InvalidInputError quoting `ref` unless it is `<name>/<version>`. */
export function requireRef(kind: ArtifactKind, ref: string): { name: string; version: string } {
  const parsed = parseObjectRef(ref);
  if (!parsed) throw new InvalidInputError(`${kind} '${ref}' is not a valid reference; ${OBJECT_REF_RULE}`);
  return parsed;
}

export class ArtifactStore {
  private constructor(
    readonly kind: ArtifactKind,
    readonly store: ObjectStore,
    private readonly js: JetStreamClient,
  ) {}

  static async open(nc: NatsConnection, kind: ArtifactKind): Promise<ArtifactStore> {
    return new ArtifactStore(kind, await new Objm(nc).open(ARTIFACT_STORES[kind]), jetstream(nc));
  }

  get storeName(): ObjectStoreName {
    return ARTIFACT_STORES[this.kind];
  }

  /** The object, or null when it does not exist (or was removed). */
  async info(ref: string): Promise<ArtifactInfo | null> {
    const info = await this.store.info(ref);
    return info && !info.deleted ? this.#toInfo(info) : null;
  }

  /** The object, or MissingObjectError naming the store and how to add it. */
  async require(ref: string): Promise<ArtifactInfo> {
    const info = await this.info(ref);
    if (info) return info;
    const verb = this.kind === 'script' ? 'scripts' : 'packages';
    throw new MissingObjectError(
      this.kind,
      ref,
      `${this.kind} '${ref}' does not exist in the ${this.storeName} store; \`baton ${verb} put ${ref} <file>\` first`,
    );
  }

  /** Every object, sorted by reference. */
  async list(): Promise<ArtifactInfo[]> {
    const all = await this.store.list();
    return all
      .filter((i) => !i.deleted && parseObjectRef(i.name) !== null)
      .map((i) => this.#toInfo(i))
      .sort((a, b) => a.ref.localeCompare(b.ref));
  }

  /** Stores `source` under `ref` (replacing what is there). */
  async write(ref: string, file: string, source: ReadableStream<Uint8Array>): Promise<ArtifactInfo> {
    requireRef(this.kind, ref);
    const info = await this.store.put(
      { name: ref, metadata: { file }, options: { max_chunk_size: WRITE_CHUNK_BYTES } },
      source,
    );
    return this.#toInfo(info);
  }

  /** Removes the object and its chunks; false when there was none. */
  async remove(ref: string): Promise<boolean> {
    if (!(await this.info(ref))) return false;
    await this.store.delete(ref);
    return true;
  }

  /** Bytes used and allowed by the store's stream. */
  async usage(nc: NatsConnection): Promise<{ bytes: number; maxBytes: number }> {
    const info = await (await jetstreamManager(nc)).streams.info(objectStreamName(this.storeName));
    return { bytes: info.state.bytes, maxBytes: info.config.max_bytes };
  }

  /**
   * The object's bytes in order, READ_BATCH chunks at a time (see the file comment). The caller
   * verifies the sha256 of what it receives; a stream that ends early throws.
   */
  async *read(info: ArtifactInfo, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
    yield* readObjectChunks(this.js, this.storeName, `${this.kind} '${info.ref}'`, info, signal);
  }

  #toInfo(i: ObjectInfo): ArtifactInfo {
    const { name, version } = parseObjectRef(i.name) ?? { name: i.name, version: '' };
    return {
      kind: this.kind,
      ref: i.name,
      name,
      version,
      sha256: digestHex(i.digest),
      size: i.size,
      // A name written by other tools that is no safe file name falls back to the object's name.
      file: PackageFileName.safeParse(i.metadata?.['file']).data ?? name,
      storedAt: i.mtime,
      // Listings do not carry it (only `info` reads the metadata message itself).
      revision: typeof i.revision === 'number' ? i.revision : null,
      nuid: i.nuid,
      chunks: i.chunks,
    };
  }
}

/**
 * What a request carries for a job's script and packages: inline as is, or each object pinned
 * to the sha256 it has now. Throws MissingObjectError (nothing published) for a missing one.
 */
export async function pinJobObjects(
  nc: NatsConnection,
  execute: JobManifest['execute'],
): Promise<{ script: ScriptRef; packages?: PackagePin[] }> {
  let script: ScriptRef;
  if (execute.scriptObject !== undefined) {
    const info = await (await ArtifactStore.open(nc, 'script')).require(execute.scriptObject);
    script = { kind: 'object', shell: execute.shell, object: info.ref, sha256: info.sha256 };
  } else {
    script = { kind: 'inline', shell: execute.shell, body: execute.script ?? '' };
  }
  if (!execute.packages?.length) return { script };
  const store = await ArtifactStore.open(nc, 'package');
  const packages: PackagePin[] = [];
  for (const ref of execute.packages) {
    const info = await store.require(ref);
    packages.push({ object: info.ref, sha256: info.sha256, size: info.size, file: info.file });
  }
  return { script, packages };
}

/**
 * The bytes of one object in order, READ_BATCH chunks at a time, through an ordered pull consumer
 * on its chunk subject (see the file comment). `what` names it in errors; a stream that ends early
 * throws. The caller verifies the sha256 of what it receives.
 */
export async function* readObjectChunks(
  js: JetStreamClient,
  store: ObjectStoreName,
  what: string,
  info: { nuid: string; chunks: number; size: number },
  signal?: AbortSignal,
): AsyncGenerator<Uint8Array> {
  const { size } = info;
  if (size === 0) return;
  const consumer = await js.consumers.get(objectStreamName(store), {
    filter_subjects: [`$O.${store}.C.${info.nuid}`],
  });
  let chunks = 0;
  let bytes = 0;
  while (bytes < size) {
    signal?.throwIfAborted();
    // Never more than are left: a pull for more than the stream holds waits until it expires.
    const want = Math.max(1, Math.min(READ_BATCH, info.chunks - chunks));
    const batch = await consumer.fetch({ max_messages: want, expires: 10_000 });
    let got = 0;
    for await (const m of batch) {
      got++;
      chunks++;
      bytes += m.data.length;
      yield m.data;
    }
    if (got === 0) {
      throw new Error(
        `${what}: no data after ${chunks} chunks (${bytes} of ${size} bytes); was it replaced or removed meanwhile?`,
      );
    }
  }
  if (bytes !== size) throw new Error(`${what}: read ${bytes} bytes, its size is ${size}`);
}
