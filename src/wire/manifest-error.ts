/**
 * The one error class of manifest parsing: every problem of a set of YAML files, each with its
 * file, line and field, so a person can fix them all in one pass.
 */

/** One problem in a manifest file. */
export interface ManifestIssue {
  /** The file name as given by the caller, e.g. `jobs/backup.yaml`. */
  readonly file: string;
  /** 1-based line in the file. */
  readonly line: number;
  /** 1-based column, when known (YAML syntax and encoding errors). */
  readonly column?: number;
  /** Dotted field path such as `execute.timeout` or `tags[2]`; empty for file-level problems. */
  readonly path: string;
  /** What is wrong and what is allowed, quoting the bad value. */
  readonly message: string;
}

/**
 * One or more manifest files are invalid. `message` holds one line per issue, in file and line
 * order, e.g. `jobs/backup.yaml:4: execute: unknown key 'timout'; did you mean 'timeout'?`.
 */
export class ManifestError extends Error {
  override readonly name = 'ManifestError';
  /** Every issue found, never empty. */
  readonly issues: readonly ManifestIssue[];

  /** `options.cause`: the underlying error (a ZodError, a YAMLParseError, ...). Default: none. */
  constructor(issues: readonly ManifestIssue[], options: { cause?: unknown } = {}) {
    super(
      issues.map(formatIssue).join('\n'),
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.issues = issues;
  }
}

/** Formats one issue as `file:line[:column]: [path: ]message`. */
export function formatIssue(issue: ManifestIssue): string {
  const where =
    issue.column === undefined
      ? `${issue.file}:${issue.line}`
      : `${issue.file}:${issue.line}:${issue.column}`;
  return issue.path === '' ? `${where}: ${issue.message}` : `${where}: ${issue.path}: ${issue.message}`;
}

/** Formats a field path: `['execute', 'timeout']` → `execute.timeout`, `['tags', 2]` → `tags[2]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'string' && /^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment)) {
      out += out === '' ? segment : `.${segment}`;
    } else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}

/** Longest rendering of a quoted value in a message; longer values are cut with `…`. */
const QUOTE_LIMIT = 60;

/**
 * Quotes a value for a message: plain strings in single quotes (`'zsh'`), strings with quotes
 * or control characters JSON-escaped, other values as JSON; cut to 60 characters.
 */
export function quoteValue(value: unknown): string {
  let text: string;
  if (typeof value === 'string') {
    const cut = value.length > QUOTE_LIMIT ? `${value.slice(0, QUOTE_LIMIT - 1)}…` : value;
    text = /^[^'"\\\p{Cc}]*$/u.test(cut) ? `'${cut}'` : JSON.stringify(cut);
  } else {
    text = safeJson(value);
    if (text.length > QUOTE_LIMIT) text = `${text.slice(0, QUOTE_LIMIT - 1)}…`;
  }
  return text;
}

function safeJson(value: unknown): string {
  if (typeof value === 'bigint') return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    // Cyclic (YAML aliases can build cycles): the type is still informative.
    return `<${typeof value}>`;
  }
}

/** Describes a value with its YAML type: `string 'x'`, `number 5`, `boolean true`, `null`, `a list`, `a mapping`. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return `string ${quoteValue(value)}`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return `${typeof value} ${quoteValue(value)}`;
  }
  return typeof value === 'object' ? 'a mapping' : typeof value;
}
