// Posted YAML: one job or one schedule for the editors' PUT, any number for validate and apply.
// Every problem becomes a 400 with located issues (file, line, column, field, message).
import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import {
  ManifestError,
  parseManifestFile,
  parseSchedules,
  type ParsedJob,
  type ParsedManifests,
  type ParsedSchedule,
} from '../wire/index.js';
import { HttpError, badRequest, parseOr400, utf8Text } from './http.js';

/** The body of PUT /api/jobs/:id and /api/schedules/:id as JSON. */
export const EditBody = z.strictObject({
  yaml: z.string().min(1),
  /** The revision the edit is based on; null to create. Required when the object exists. */
  baseRevision: z.int().positive().nullable().optional(),
  /** Save even when the new params break a schedule's values (reported in `warnings`). Default false. */
  force: z.boolean().optional(),
});
export type EditBody = z.infer<typeof EditBody>;

/** The manifest as posted: a JSON body `{yaml, baseRevision}`, or text/yaml with `If-Match: <revision>`. */
export function editInput(req: IncomingMessage, raw: Buffer): EditBody {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json') {
    const text = utf8Text(raw);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw badRequest(`the body is not valid JSON: ${(err as Error).message}`);
    }
    return parseOr400(EditBody, json, 'body');
  }
  if (['text/yaml', 'application/yaml', 'application/x-yaml', 'text/plain'].includes(type)) {
    const ifMatch = req.headers['if-match'];
    let baseRevision: number | null | undefined;
    if (ifMatch !== undefined) {
      const v = ifMatch.replace(/^W\//, '').replace(/"/g, '').trim();
      if (v === '*' || v === '') baseRevision = undefined;
      else if (/^\d+$/.test(v) && Number(v) > 0) baseRevision = Number(v);
      else throw badRequest(`If-Match: '${ifMatch}' is not a revision (a positive integer)`);
    }
    return { yaml: utf8Text(raw), baseRevision };
  }
  throw new HttpError(415, 'unsupported_media_type', `content-type '${type || '(none)'}' is not accepted; send application/json or text/yaml`);
} // prettier-ignore

/** The 400 of invalid manifests, with the issues for the editor. */
export function invalidManifest(err: ManifestError): HttpError {
  return badRequest(err.message, {
    error: 'invalid_manifest',
    issues: err.issues.map((i) => ({ file: i.file, line: i.line, ...(i.column ? { column: i.column } : {}), path: i.path, message: i.message })),
  }); // prettier-ignore
}

/** Parses YAML (jobs and schedules); ManifestError becomes a 400. */
export function parseAll(yaml: string, file: string): { jobs: ParsedJob[]; schedules: ParsedSchedule[]; parsed: ParsedManifests } {
  try {
    const parsed = parseManifestFile(yaml, file);
    return { jobs: parsed.jobs, schedules: parseSchedules(parsed.others), parsed };
  } catch (err) {
    if (err instanceof ManifestError) throw invalidManifest(err);
    throw err;
  }
} // prettier-ignore

/** Exactly one document of `kind` whose id is `id`, else a located 400. */
export function parseOne<K extends 'job' | 'schedule'>(kind: K, id: string, yaml: string): K extends 'job' ? ParsedJob : ParsedSchedule {
  const file = `${kind} ${id}`;
  const { jobs, schedules } = parseAll(yaml, file);
  const docs: (ParsedJob | ParsedSchedule)[] = kind === 'job' ? jobs : schedules;
  const other = kind === 'job' ? schedules.length : jobs.length;
  if (docs.length !== 1 || other > 0) {
    throw badRequest(`${file}: the body must hold exactly one ${kind} document`, {
      error: 'invalid_manifest',
      issues: [{ file, line: 1, path: '', message: `must hold exactly one ${kind} document (found ${docs.length} ${kind}s, ${other} others)` }],
    });
  }
  const doc = docs[0]!;
  const docId = 'manifest' in doc ? doc.manifest.id : doc.schedule.id;
  if (docId !== id) {
    const line = 'lineAt' in doc ? doc.lineAt(['id']) : doc.line;
    throw badRequest(`${file}:${line}: id '${docId}' does not match the ${kind} being edited ('${id}')`, {
      error: 'invalid_manifest',
      issues: [{ file, line, path: 'id', message: `id '${docId}' does not match the ${kind} being edited ('${id}')` }],
    });
  }
  return doc as K extends 'job' ? ParsedJob : ParsedSchedule;
} // prettier-ignore
