/**
 * Splits a YAML file into its documents, keeping each document's source text byte for byte
 * (operators' comments and formatting are stored verbatim) and a map from field paths back to
 * file lines, so validation errors can say where the bad value is.
 */
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseAllDocuments, visit } from 'yaml';
import type { Document, Node, YAMLError } from 'yaml';

import { ManifestError, quoteValue } from './manifest-error.js';
import type { ManifestIssue } from './manifest-error.js';
import { decodeManifestText } from './manifest-text.js';

/** Aliases a document may expand; more is treated as an alias bomb. */
const MAX_ALIAS_COUNT = 100;

/** A path into a document's value: mapping keys and list indexes. */
export type YamlPath = readonly PropertyKey[];

/** One non-empty document of a YAML file. */
export interface YamlDoc {
  /** The file name as given by the caller. */
  readonly file: string;
  /** 0-based position among the file's documents, empty ones included. */
  readonly index: number;
  /**
   * The document's source, byte for byte: from the end of the previous document (or the start
   * of the file) to the start of the next one (or the end of the file), so it includes its `---`
   * marker and comments. The texts of a file's documents concatenate to the whole file; a
   * single-document file's text is the file.
   */
  readonly text: string;
  /** 1-based file line of the document's first content token. */
  readonly line: number;
  /** The parsed value (YAML 1.2 core schema: `yes` is a string, `1.0` a number). */
  readonly value: unknown;
  /**
   * 1-based file line of the node at `path`: its value (default) or its mapping key (`'key'`).
   * When the path does not exist, the line of the deepest part that does (the parent's key).
   */
  readonly lineAt: (path: YamlPath, target?: 'value' | 'key') => number;
}

/**
 * Parses `input` (a string, or bytes that must be UTF-8) into its non-empty documents. Throws
 * {@link ManifestError} listing every problem: file over 1 MiB, invalid UTF-8 or NUL bytes
 * (see `decodeManifestText`), then every YAML syntax error, duplicate key and unresolved alias
 * of every document (`file:line:col: message`).
 */
export function splitYamlDocuments(input: string | Uint8Array, file: string): YamlDoc[] {
  const text = decodeManifestText(input, file);
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const lineOf = (offset: number): number => lineCounter.linePos(offset).line;
  const issues: ManifestIssue[] = [];
  const causes: unknown[] = [];
  const syntaxIssue = (error: YAMLError, doc?: Document.Parsed): void => {
    const { line, col } = lineCounter.linePos(error.pos[0]);
    const message =
      (doc && error.code === 'DUPLICATE_KEY' && duplicateKeyMessage(doc, error.pos[0], lineOf)) ||
      error.message;
    issues.push({ file, line, column: col, path: '', message });
    causes.push(error);
  };
  if ('empty' in docs) for (const error of docs.errors) syntaxIssue(error);

  const out: YamlDoc[] = [];
  docs.forEach((doc, index) => {
    for (const error of doc.errors) syntaxIssue(error, doc);
    const contents = doc.contents;
    if (doc.errors.length > 0 || contents === null || isEmptyNode(contents)) return;
    const line = lineOf(contents.range[0]);
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (err) {
      // Unresolved aliases and alias bombs surface only when the value is built.
      issues.push({ file, line, path: '', message: err instanceof Error ? err.message : String(err) });
      causes.push(err);
      return;
    }
    const start = index === 0 ? 0 : (docs[index - 1]?.range[2] ?? 0);
    const end = index === docs.length - 1 ? text.length : doc.range[2];
    out.push({
      file,
      index,
      text: text.slice(start, end),
      line,
      value,
      lineAt: (path, target = 'value') => lineAt(doc, path, target, line, lineOf),
    });
  });
  if (issues.length > 0) {
    const cause = causes.length > 1 ? new AggregateError(causes, 'several YAML errors') : causes[0];
    throw new ManifestError(issues, { cause });
  }
  return out;
}

function isEmptyNode(node: Node): boolean {
  return (
    isScalar(node) &&
    node.value === null &&
    node.range !== undefined &&
    node.range !== null &&
    node.range[0] === node.range[1]
  );
}

function lineAt(
  doc: Document.Parsed,
  path: YamlPath,
  target: 'value' | 'key',
  docLine: number,
  lineOf: (offset: number) => number,
): number {
  let node: unknown = doc.contents;
  let line = docLine;
  for (const [i, segment] of path.entries()) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
      if (pair === undefined) return line;
      line = isScalar(pair.key) && pair.key.range ? lineOf(pair.key.range[0]) : line;
      if (i === path.length - 1 && target === 'key') return line;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      node = node.items[segment];
      if (node === undefined) return line;
    } else {
      return line;
    }
  }
  // An empty value (`timeout:`) has an empty range; its key's line is the useful one.
  const range = (node as Node | null)?.range;
  return range && range[0] < range[1] ? lineOf(range[0]) : line;
}

/** `duplicate key 'x'; first defined on line N`, or undefined when the key cannot be found. */
function duplicateKeyMessage(
  doc: Document.Parsed,
  offset: number,
  lineOf: (offset: number) => number,
): string | undefined {
  let message: string | undefined;
  visit(doc, {
    Map(_, map) {
      const dup = map.items.find((p) => isScalar(p.key) && p.key.range?.[0] === offset);
      if (!isScalar(dup?.key)) return undefined;
      const name = dup.key.value;
      const first = map.items.find((p) => isScalar(p.key) && p.key.value === name);
      const firstLine = isScalar(first?.key) && first.key.range ? lineOf(first.key.range[0]) : undefined;
      message =
        `duplicate key ${quoteValue(name)}` +
        (firstLine === undefined ? '' : `; first defined on line ${firstLine}`);
      return visit.BREAK;
    },
  });
  return message;
}
