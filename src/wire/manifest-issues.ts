/**
 * Turns zod issues about a YAML document into located, human messages: the file line of the
 * bad value, its field path, the value quoted and what is allowed. Shared by every YAML kind
 * (jobs here, schedules in their own module) so all manifest errors read the same.
 */
import { z } from 'zod';

import { describeValue, formatPath, quoteValue } from './manifest-error.js';
import type { ManifestIssue } from './manifest-error.js';
import { suggest } from './suggest.js';
import type { YamlDoc } from './yaml-docs.js';

/**
 * Located issues for a failed `schema.safeParse(doc.value)`, sorted by line, duplicates removed.
 * `schema` is the schema that was parsed; it supplies the allowed keys for "did you mean".
 */
export function manifestIssues(
  doc: Pick<YamlDoc, 'file' | 'value' | 'lineAt'>,
  error: z.ZodError,
  schema: z.ZodType,
): ManifestIssue[] {
  const out: ManifestIssue[] = [];
  const add = (path: readonly PropertyKey[], line: number, message: string): void => {
    out.push({ file: doc.file, line, path: formatPath(path), message });
  };
  for (const issue of error.issues) {
    const path = issue.path;
    const found = lookup(doc.value, path);
    const value = found?.value;
    switch (issue.code) {
      case 'unrecognized_keys': {
        const allowed = objectKeysAt(schema, path);
        for (const key of issue.keys) {
          const hint = suggest(key, allowed);
          const message =
            `unknown key ${quoteValue(key)}` +
            (hint === undefined ? '' : `; did you mean ${quoteValue(hint)}?`);
          add(path, doc.lineAt([...path, key], 'key'), message);
        }
        break;
      }
      case 'invalid_type':
        add(path, doc.lineAt(path), found === undefined ? 'required' : typeMessage(issue.expected, value));
        break;
      case 'invalid_value':
        add(
          path,
          doc.lineAt(path),
          `${quoteValue(value)} is not allowed; expected one of ${issue.values.map(String).join(', ')}`,
        );
        break;
      case 'invalid_format':
      case 'too_big':
      case 'too_small':
      case 'not_multiple_of':
        add(path, doc.lineAt(path), constraintMessage(issue.message, value));
        break;
      case 'invalid_key': {
        // zod puts the bad key at the end of the path; the message belongs to the mapping.
        const parent = path.slice(0, -1);
        const rule = issue.issues[0]?.message ?? issue.message;
        add(parent, doc.lineAt(path, 'key'), `key ${quoteValue(path.at(-1))} is invalid; ${rule}`);
        break;
      }
      case 'custom':
      case 'invalid_union':
      case 'invalid_element':
        add(path, doc.lineAt(path), issue.message);
        break;
    }
  }
  const seen = new Set<string>();
  return out
    .filter((i) => {
      const key = `${i.line}\0${i.path}\0${i.message}`;
      return seen.has(key) ? false : (seen.add(key), true);
    })
    .sort((a, b) => a.line - b.line);
}

const TYPE_NAMES: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'a boolean',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
};

function typeMessage(expected: string, value: unknown): string {
  const message = `expected ${TYPE_NAMES[expected] ?? expected}, got ${describeValue(value)}`;
  const scalar = typeof value === 'number' || typeof value === 'boolean';
  if (expected === 'string' && scalar) return `${message}; put it in quotes to make it a string`;
  return expected === 'string' && value === null ? `${message}; write '' for an empty string` : message;
}

function constraintMessage(rule: string, value: unknown): string {
  if (typeof value === 'string') return `${quoteValue(value)} is invalid; ${rule}`;
  if (Array.isArray(value)) return `${rule}, got ${value.length}`;
  return rule;
}

/** The value at `path`, or undefined when some key on the way is absent. */
function lookup(root: unknown, path: readonly PropertyKey[]): { value: unknown } | undefined {
  let current = root;
  for (const segment of path) {
    if (typeof current !== 'object' || current === null || !Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return { value: current };
}

/** Keys of the object schema at `path` inside `schema` (through optional, default, list, record). */
function objectKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let current: unknown = unwrap(schema);
  for (const segment of path) {
    if (current instanceof z.ZodObject) current = (current.shape as Record<PropertyKey, unknown>)[segment];
    else if (current instanceof z.ZodArray) current = current.element;
    else if (current instanceof z.ZodRecord) current = current.valueType;
    else return [];
    current = unwrap(current);
  }
  return current instanceof z.ZodObject ? Object.keys(current.shape) : [];
}

function unwrap(schema: unknown): unknown {
  let current = schema;
  while (
    current instanceof z.ZodOptional ||
    current instanceof z.ZodDefault ||
    current instanceof z.ZodNullable
  ) {
    current = current.unwrap();
  }
  return current;
}
