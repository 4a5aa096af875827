/**
 * Reads manifest files: splits each into YAML documents, validates `kind: job` documents into
 * {@link JobManifest}s, passes other known kinds through raw for their own validators, and
 * reports every problem of every file in one {@link ManifestError}.
 */
import { JobManifestInput, toJobManifest } from './manifest.js';
import type { JobManifest } from './manifest.js';
import { ManifestError, describeValue, quoteValue } from './manifest-error.js';
import type { ManifestIssue } from './manifest-error.js';
import { manifestIssues } from './manifest-issues.js';
import { splitYamlDocuments } from './yaml-docs.js';
import type { YamlDoc, YamlPath } from './yaml-docs.js';

/** Every `kind` a manifest file may hold. */
export const MANIFEST_KINDS = ['job', 'schedule'] as const;
export type ManifestKind = (typeof MANIFEST_KINDS)[number];

/** A validated job document. */
export interface ParsedJob {
  readonly manifest: JobManifest;
  /** The document's YAML exactly as written, comments included (see {@link YamlDoc.text}). */
  readonly yaml: string;
  readonly file: string;
  /** 1-based line of the document's first key. */
  readonly line: number;
}

/** A document of another known kind, not validated here; its own module validates `value`. */
export interface RawDoc {
  readonly kind: Exclude<ManifestKind, 'job'>;
  readonly value: unknown;
  /** The document's YAML exactly as written. */
  readonly yaml: string;
  readonly file: string;
  /** 1-based line of the document's first key. */
  readonly line: number;
  /** File line of a field, for located errors; see {@link YamlDoc.lineAt}. */
  readonly lineAt: (path: YamlPath, target?: 'value' | 'key') => number;
}

/** One input file: its name (used in messages) and its content (bytes must be UTF-8). */
export interface ManifestSource {
  readonly file: string;
  readonly text: string | Uint8Array;
}

/** The documents of a set of files, in file and document order. */
export interface ParsedManifests {
  readonly jobs: ParsedJob[];
  readonly others: RawDoc[];
}

/** {@link parseManifestFiles} for one file. */
export function parseManifestFile(text: string | Uint8Array, file: string): ParsedManifests {
  return parseManifestFiles([{ file, text }]);
}

/**
 * Parses and validates a set of files together, so a job id defined twice (in one file or
 * across files) is an error naming both places. Empty files and empty documents yield nothing;
 * a file with YAML syntax errors reports those and is not validated further.
 * Throws one {@link ManifestError} with every issue of every file, in file and line order.
 */
export function parseManifestFiles(files: readonly ManifestSource[]): ParsedManifests {
  const jobs: ParsedJob[] = [];
  const others: RawDoc[] = [];
  const issues: ManifestIssue[] = [];
  const causes: unknown[] = [];
  const idLines = new Map<string, string>();

  for (const { file, text } of files) {
    const fileIssues: ManifestIssue[] = [];
    let docs: YamlDoc[] = [];
    try {
      docs = splitYamlDocuments(text, file);
    } catch (err) {
      if (!(err instanceof ManifestError)) throw err;
      fileIssues.push(...err.issues);
      causes.push(err);
    }
    for (const doc of docs) {
      const result = readDocument(doc);
      if ('issues' in result) {
        fileIssues.push(...result.issues);
        if (result.cause !== undefined) causes.push(result.cause);
      } else if ('manifest' in result) {
        const where = `${file}:${doc.lineAt(['id'])}`;
        const first = idLines.get(result.manifest.id);
        if (first === undefined) {
          idLines.set(result.manifest.id, where);
          jobs.push(result);
        } else {
          const message = `duplicate job id ${quoteValue(result.manifest.id)}; also defined at ${first}`;
          fileIssues.push({ file, line: doc.lineAt(['id']), path: 'id', message });
        }
      } else {
        others.push(result);
      }
    }
    // Stable: issues on one line keep their document and schema order.
    issues.push(...fileIssues.sort((a, b) => a.line - b.line));
  }

  if (issues.length > 0) {
    const cause =
      causes.length > 1 ? new AggregateError(causes, 'several manifest documents are invalid') : causes[0];
    throw new ManifestError(issues, { cause });
  }
  return { jobs, others };
}

type DocumentResult = ParsedJob | RawDoc | { issues: ManifestIssue[]; cause?: unknown };

function readDocument(doc: YamlDoc): DocumentResult {
  const { file, value } = doc;
  const fail = (path: string, line: number, message: string): DocumentResult => ({
    issues: [{ file, line, path, message }],
  });
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail('', doc.line, `expected a mapping with a 'kind' key, got ${describeValue(value)}`);
  }
  const kind: unknown = (value as Record<string, unknown>).kind;
  const allowed = `expected one of ${MANIFEST_KINDS.join(', ')}`;
  if (kind === undefined) return fail('kind', doc.line, `required; ${allowed}`);
  if (kind === 'job') {
    const parsed = JobManifestInput.safeParse(value);
    if (!parsed.success)
      return { issues: manifestIssues(doc, parsed.error, JobManifestInput), cause: parsed.error };
    return { manifest: toJobManifest(parsed.data), yaml: doc.text, file, line: doc.line };
  }
  if (kind === 'schedule') return { kind, value, yaml: doc.text, file, line: doc.line, lineAt: doc.lineAt };
  return fail(
    'kind',
    doc.lineAt(['kind']),
    `${typeof kind === 'string' ? quoteValue(kind) : describeValue(kind)} is not allowed; ${allowed}`,
  );
}
