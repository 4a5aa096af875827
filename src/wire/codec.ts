/**
 * The two directions of every message: a tolerant reader and a strict writer.
 *
 * Readers accept unknown fields (a newer peer may add some) and drop them; writers reject them,
 * so a typo in a producer fails loudly at the source instead of vanishing on the wire. Both
 * report the field path and quote the bad value.
 */
import type { z } from 'zod';

import { WireError, quote } from './errors.js';

/** How many issues one error message lists before it says "and N more". */
const MAX_LISTED_ISSUES = 3;

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/**
 * A hand-written reader for a message's common shape, for hot paths. It gets what `JSON.parse`
 * returned for a payload (so no `undefined` values, no class instances) and must return either
 * what the schema returns for that value, or `undefined` (not sure: let the schema decide); it
 * never accepts what the schema rejects.
 */
export type FastReader<T> = (json: unknown) => T | undefined;

/**
 * Reads a message. `input` is either the already-parsed JSON value, or the raw payload as bytes
 * or a string, which is parsed as JSON first. Unknown fields are accepted and dropped. `fast`,
 * when given, is tried first on a raw payload; the schema decides whatever it declines.
 */
export function decodeMessage<S extends z.ZodType>(
  schema: S,
  name: string,
  input: unknown,
  fast?: FastReader<z.output<S>>,
): z.output<S> {
  const raw = input instanceof Uint8Array || typeof input === 'string';
  const value = toJsonValue(name, input);
  const quick = raw ? fast?.(value) : undefined;
  if (quick !== undefined) return quick;
  const result = schema.safeParse(value);
  if (!result.success) throw issuesError(name, value, result.error);
  return result.data;
}

/**
 * Writes a message as UTF-8 JSON. The message is validated in full, unknown fields are rejected
 * at any depth, and defaults are filled in, so the bytes are what a reader will see.
 */
export function encodeMessage<S extends z.ZodType>(schema: S, name: string, msg: z.input<S>): Uint8Array {
  return encoder.encode(encodeMessageJson(schema, name, msg));
}

/** {@link encodeMessage}, as the JSON text: for a writer that embeds it in a larger document. */
export function encodeMessageJson<S extends z.ZodType>(schema: S, name: string, msg: z.input<S>): string {
  const result = schema.safeParse(msg);
  if (!result.success) throw issuesError(name, msg, result.error);
  const unknown = findUnknownField(msg, result.data, []);
  if (unknown !== undefined) {
    const path = formatPath(unknown);
    throw new WireError(`invalid ${name}: ${path}: unknown field (writers are strict)`, {
      path,
      value: valueAt(msg, unknown),
    });
  }
  return JSON.stringify(result.data);
}

function toJsonValue(name: string, input: unknown): unknown {
  if (!(input instanceof Uint8Array) && typeof input !== 'string') return input;
  let text: string;
  try {
    text = typeof input === 'string' ? input : utf8.decode(input);
  } catch (err) {
    throw new WireError(`invalid ${name}: payload is not valid UTF-8`, { cause: err });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new WireError(`invalid ${name}: payload is not JSON: ${quote(text)}`, { cause: err, value: text });
  }
}

function issuesError(name: string, input: unknown, error: z.ZodError): WireError {
  const issues = error.issues;
  const listed = issues.slice(0, MAX_LISTED_ISSUES).map((issue) => describeIssue(input, issue));
  const more = issues.length > MAX_LISTED_ISSUES ? `; and ${issues.length - MAX_LISTED_ISSUES} more` : '';
  const first = issues[0];
  return new WireError(`invalid ${name}: ${listed.join('; ')}${more}`, {
    cause: error,
    path: first === undefined ? undefined : formatPath(first.path),
    value: first === undefined ? undefined : valueAt(input, first.path),
  });
}

/** `trigger.kind: Invalid option: expected one of "adhoc"|"schedule"; got "cron"`. */
function describeIssue(input: unknown, issue: z.core.$ZodIssue): string {
  const path = formatPath(issue.path);
  const value = valueAt(input, issue.path);
  if (issue.code === 'invalid_key') {
    // The path ends at the key itself; quote the key, not the value stored under it.
    const reason = issue.issues[0]?.message ?? issue.message;
    return `${path}: invalid key ${quote(issue.path.at(-1))}: ${reason}`;
  }
  if (value === undefined && issue.code === 'invalid_type') {
    return `${path}: required field is missing (expected ${issue.expected})`;
  }
  const got = value === undefined ? '' : `; got ${quote(value)}`;
  return `${path}: ${issueMessage(issue)}${got}`;
}

function issueMessage(issue: z.core.$ZodIssue): string {
  // A union such as `int | null` only says "Invalid input"; name what each branch expected.
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    const expected = issue.errors.flatMap((branch) =>
      branch.flatMap((i) => (i.code === 'invalid_type' && i.path.length === 0 ? [i.expected] : [])),
    );
    if (expected.length === issue.errors.length) return `expected ${expected.join(' or ')}`;
  }
  return issue.message;
}

/**
 * `['script', 'kind']` → `script.kind`; `['running', 0, 'jobId']` → `running[0].jobId`;
 * `['env', 'A=B']` → `env["A=B"]`.
 */
function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(message)';
  return path
    .map((key, i) => {
      if (typeof key === 'number') return `[${key}]`;
      const name = String(key);
      if (!IDENTIFIER.test(name)) return `[${JSON.stringify(name)}]`;
      return i === 0 ? name : `.${name}`;
    })
    .join('');
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current = input;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

/**
 * The path of the first field present in `input` but absent from the parsed `output`: zod strips
 * unknown keys, so a key that disappeared was not in the schema. Keys set to `undefined` are
 * ignored, as JSON would drop them anyway.
 */
function findUnknownField(input: unknown, output: unknown, path: PropertyKey[]): PropertyKey[] | undefined {
  if (input === null || typeof input !== 'object' || output === null || typeof output !== 'object') {
    return undefined;
  }
  if (Array.isArray(input)) {
    if (!Array.isArray(output)) return undefined;
    for (const [i, item] of input.entries()) {
      const found = findUnknownField(item, output[i], [...path, i]);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  const out = output as Record<string, unknown>;
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined) continue;
    if (!Object.hasOwn(out, key)) return [...path, key];
    const found = findUnknownField(value, out[key], [...path, key]);
    if (found !== undefined) return found;
  }
  return undefined;
}
