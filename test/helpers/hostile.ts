// Hostile input for the fuzz-style tests (test/integration/hostile-*.test.ts): a seeded PRNG, so a
// failure replays with BATON_FUZZ_SEED=<seed>, and a generator of malformed payloads derived from
// one valid message shape. Every case the generator calls `invalid` is invalid by construction
// (a required field with the wrong type, an id over its length limit, bytes that are not JSON...),
// never by asking the parser under test; `tolerated` cases are valid messages with extra fields,
// which readers must accept (DESIGN.md: readers are forward compatible).
import { randomInt } from 'node:crypto';
import type { TopologyOptions } from '../../src/kv/index.js';
import { TEST_TOPOLOGY } from './nats-server.js';

export type Rng = {
  readonly seed: number;
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  pick<T>(xs: readonly T[]): T;
  bytes(n: number): Uint8Array;
  /** `n` characters of printable ASCII with some non-ASCII letters and symbols mixed in. */
  text(n: number): string;
  /** A copy of `xs` in a random order. */
  shuffle<T>(xs: readonly T[]): T[];
};

/** mulberry32: small, fast, and the same sequence for the same seed on every platform. */
export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const TEXT =
    'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 {}[]:,"\\/.-_<>=%$#@!?äöüß€日本語🙂';
  const chars = [...TEXT];
  return {
    seed: seed >>> 0,
    next,
    int,
    pick: (xs) => {
      if (xs.length === 0) throw new Error('pick from an empty list');
      return xs[int(xs.length)]!;
    },
    bytes: (n) => Uint8Array.from({ length: n }, () => int(256)),
    text: (n) => Array.from({ length: n }, () => chars[int(chars.length)]!).join(''),
    shuffle: (xs) => {
      const out = [...xs];
      for (let i = out.length - 1; i > 0; i--) {
        const j = int(i + 1);
        [out[i], out[j]] = [out[j]!, out[i]!];
      }
      return out;
    },
  };
}

/** The seed of this run: BATON_FUZZ_SEED when set (to replay a failure), else a random one. */
export function fuzzSeed(): number {
  const env = process.env['BATON_FUZZ_SEED'];
  if (env === undefined || env === '') return randomInt(0, 2 ** 32);
  const n = Number(env);
  if (!Number.isInteger(n) || n < 0 || n >= 2 ** 32) {
    throw new Error(`BATON_FUZZ_SEED must be an integer 0..4294967295, got '${env}'`);
  }
  return n;
}

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

/** One message to throw at a consumer. `kind` groups cases in the counts the tests report. */
export type HostileCase = {
  kind: string;
  data: Uint8Array;
  expect: 'invalid' | 'tolerated';
  /** The valid message the case was made from, if any (its subject is where it belongs). */
  base?: JsonObject;
};

/** How to make valid messages of one type, and which of its fields have a type or a bound. */
export type MessageShape = {
  /** A fresh valid message (unique ids where the consumer keys by id). */
  valid: () => JsonObject;
  /** Required, non-nullable fields: a value of another type or its absence is invalid. */
  required: readonly string[];
  /**
   * Fields holding a subject token or a name (pc id, job id, request id): huge, dotted or
   * whitespace/control-character values are invalid there.
   */
  bounded: readonly string[];
  /** False for values without a wire version `v` (KV records of the platform's own state). Default true. */
  versioned?: boolean;
};

const enc = new TextEncoder();
const json = (v: unknown) => enc.encode(JSON.stringify(v));

/** `depth` nested arrays, built as text (JSON.stringify would recurse). */
export const nestedArrays = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);

/** Index just inside the first string value (`"key":"|value"`) of a JSON object's bytes. */
function stringValueStart(bytes: Uint8Array): number {
  for (let i = 0; i + 2 < bytes.length; i++) {
    if (bytes[i] === 0x22 && bytes[i + 1] === 0x3a && bytes[i + 2] === 0x22) return i + 3;
  }
  throw new Error('the valid message has no string value to corrupt');
}

/** A value of a type other than `v`'s. */
function wrongType(r: Rng, v: Json | undefined): Json {
  const options: Json[] = [12345, -1.5, true, 'not-the-type', [1, 'two'], { nested: { deep: 1 } }];
  const differs = options.filter((o) => typeof o !== typeof v || Array.isArray(o) !== Array.isArray(v));
  return r.pick(differs);
}

/** Strings that neither a subject token nor a name accepts, each in its own way. */
function hostileIds(r: Rng): { kind: string; value: string }[] {
  return [
    { kind: 'huge-id', value: 'x'.repeat(100_000 + r.int(1000)) },
    { kind: 'id-with-nul', value: `pc\u0000${r.text(4)}` },
    { kind: 'id-with-dots-and-wildcards', value: `a.*.>${r.int(100)}` },
    { kind: 'id-path-traversal', value: '../../etc/passwd' },
    { kind: 'id-unicode-rtl-emoji-space', value: `pc-\u202e${r.pick(['🙂', '日本', 'ü'])}\u3000x` },
    { kind: 'id-lone-surrogate-c1', value: `pc-\ud800\u0085${r.int(10)}` },
  ];
}

/**
 * Malformed payloads for one message shape (about 40 per call, more with more fields):
 * empty, not JSON, truncated JSON, JSON of the wrong type, wrong field types, missing fields,
 * unknown wire versions, huge and odd-unicode ids, deep nesting, invalid UTF-8, binary, and one
 * payload just under `maxPayload` (publishable, but not a message).
 */
export function malformedPayloads(r: Rng, shape: MessageShape, maxPayload: number): HostileCase[] {
  const out: HostileCase[] = [];
  const add = (kind: string, data: Uint8Array | string, base?: JsonObject) =>
    out.push({
      kind,
      data: typeof data === 'string' ? enc.encode(data) : data,
      expect: 'invalid',
      ...(base ? { base } : {}),
    });
  add('empty', new Uint8Array());
  add('not-json', r.text(1 + r.int(200)).replace(/^[\s[{"\d-]+/, 'x'));
  add('not-json', `{"v":1, garbage ${r.int(1000)}`);
  add('not-json', `v: 1\nkind: ${r.text(8)}\n`);
  const text = JSON.stringify(shape.valid());
  add('truncated-json', text.slice(0, 1 + r.int(text.length - 2)));
  add('json-array', json([shape.valid()]));
  add('json-number', String(r.int(1_000_000) - 500_000));
  add('json-null', 'null');
  add('json-string', JSON.stringify(r.text(20)));
  add('json-bool', r.pick(['true', 'false']));
  add('json-empty-object', '{}');
  // A valid message with one change, published where the original belongs.
  const mutate = (kind: string, change: (m: JsonObject) => void) => {
    const base = shape.valid();
    const msg = structuredClone(base);
    change(msg);
    out.push({ kind, data: json(msg), expect: 'invalid', base });
  };
  for (const field of shape.required) {
    mutate('wrong-type', (m) => (m[field] = wrongType(r, m[field])));
    mutate('missing-field', (m) => delete m[field]);
    mutate('null-field', (m) => (m[field] = null));
  }
  if (shape.versioned ?? true) {
    for (const v of [2, 0, '1', null, 1.5]) mutate('wire-version', (m) => (m['v'] = v));
  }
  for (const field of shape.bounded) {
    for (const id of hostileIds(r)) mutate(id.kind, (m) => (m[field] = id.value));
  }
  // Deep nesting: a bare one, and one in place of a required field (zod must not recurse into it).
  add('deep-nesting', nestedArrays(50_000 + r.int(50_000)));
  const field = r.pick(shape.required);
  const holder = shape.valid();
  add(
    'deep-nesting',
    JSON.stringify({ ...holder, [field]: 'NESTED' }).replace('"NESTED"', nestedArrays(20_000)),
    holder,
  );
  add('deep-nesting', `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`);
  // Invalid UTF-8 inside a string value of an otherwise valid message.
  for (const bad of [
    [0xc3, 0x28],
    [0xc0, 0xaf],
    [0xed, 0xa0, 0x80],
    [0xff, 0xfe],
  ]) {
    const base = shape.valid();
    const valid = json(base);
    const at = stringValueStart(valid);
    add('invalid-utf8', Uint8Array.from([...valid.subarray(0, at), ...bad, ...valid.subarray(at)]), base);
  }
  add('binary', r.bytes(1 + r.int(4096)));
  add('binary', new Uint8Array(64 + r.int(64)));
  // Just under the server's limit (headers and subject need room): stored, then rejected.
  add('near-max-payload', `{"v":1,"pad":"${'p'.repeat(maxPayload - 16 * 1024)}"}`);
  return out;
}

/** Valid messages with unknown fields (a newer writer): readers must accept them. */
export function toleratedPayloads(r: Rng, shape: MessageShape): HostileCase[] {
  const add = (extra: JsonObject): HostileCase => {
    const base = shape.valid();
    return { kind: 'unknown-fields', data: json({ ...base, ...extra }), expect: 'tolerated', base };
  };
  return [
    add({ futureField: r.text(10), another: { nested: [1, 2, { x: null }] } }),
    add({ bigUnknown: 'u'.repeat(50_000 + r.int(10_000)) }),
    add({ [`x-${r.int(1000)}`]: r.int(10), ['unicodé🙂']: true }),
  ];
}

/** A payload one byte over the server's limit: the client must refuse to publish it. */
export const oversizedPayload = (maxPayload: number): Uint8Array => new Uint8Array(maxPayload + 1).fill(0x7b);

/** Case counts per kind, for the test output: `{empty: 1, wrong-type: 12, ...}`. */
export function countKinds(cases: readonly HostileCase[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const c of cases) counts[c.kind] = (counts[c.kind] ?? 0) + 1;
  return counts;
}

const MiB = 1024 * 1024;

/**
 * The test topology (byte limits scaled 1/256), but with every stream and bucket at least 16 MiB:
 * the near-max payloads of a fuzz run must not make discard-old drop the valid messages it counts.
 */
export function roomyTopology(): TopologyOptions {
  const limits = TEST_TOPOLOGY.limits!;
  const roomy = <K extends string, V extends { maxBytes: number }>(rec: Record<K, V>): Record<K, V> =>
    Object.fromEntries(
      Object.entries<V>(rec).map(([k, v]) => [k, { ...v, maxBytes: Math.max(v.maxBytes, 16 * MiB) }]),
    ) as Record<K, V>;
  return {
    ...TEST_TOPOLOGY,
    limits: { ...limits, streams: roomy(limits.streams), buckets: roomy(limits.buckets) },
  };
}

/** A field of a message as text (for subjects and keys): strings as is, anything else as JSON. */
export function field(m: JsonObject, key: string): string {
  const v = m[key];
  return typeof v === 'string' ? v : String(JSON.stringify(v));
}
