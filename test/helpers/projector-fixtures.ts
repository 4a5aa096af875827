// Realistic wire messages for projector tests and the benchmark: results, run events and the
// run.start receipt of an execution, built with the wire encoders (so they are valid by schema).
import {
  encodeAuditEvent,
  encodeExecResult,
  encodeRunEvent,
  inlineOutput,
  objectOutput,
  resultIdFor,
  resultSubject,
  eventSubject,
  runEventIdFor,
  type ExecResultInput,
  type RunEventKind,
  type RunStartInput,
} from '../../src/wire/index.js';
import { resultOutputKey } from '../../src/kv/index.js';

export type Published = { subject: string; data: Uint8Array; msgID: string };

const text = (s: string) => new TextEncoder().encode(s);

export type ResultSpec = {
  execId: string;
  pcId: string;
  requestId?: string;
  jobId?: string;
  status?: ExecResultInput['status'];
  exitCode?: number | null;
  stdout?: string;
  /** Size and sha256 of a stdout that lives in the object store. */
  stdoutObject?: { bytes: number; sha256: string };
  finishedAt?: string;
  /** A retried job's attempt (from 1) and, when another follows, its retryAt. */
  attempt?: number;
  retryAt?: string;
  reason?: string;
};

export function resultMessage(s: ResultSpec): Published {
  const requestId = s.requestId ?? `${s.execId}-0`;
  const finishedAt = s.finishedAt ?? '2025-01-02T03:04:05.000Z';
  const msg: ExecResultInput = {
    v: 1,
    resultId: resultIdFor(requestId, s.pcId, s.attempt ?? 1),
    requestId,
    execId: s.execId,
    pcId: s.pcId,
    jobId: s.jobId ?? 'disk-usage',
    jobVersion: '1.0.0',
    status: s.status ?? 'ok',
    exitCode: s.exitCode === undefined ? 0 : s.exitCode,
    ...(s.reason ? { reason: s.reason } : {}),
    stdout: s.stdoutObject
      ? objectOutput(s.stdoutObject.bytes, s.stdoutObject.sha256, {
          bucket: 'result_output',
          name: resultOutputKey(requestId, s.pcId, 'stdout'),
        })
      : inlineOutput(
          text(
            s.stdout ??
              `Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/sda1 100 50 50 50% /\n`,
          ),
        ),
    stderr: inlineOutput(text('')),
    startedAt: new Date(Date.parse(finishedAt) - 1200).toISOString(),
    finishedAt,
    durationMs: 1200,
    ...(s.attempt ? { attempt: s.attempt } : {}),
    ...(s.retryAt ? { retryAt: s.retryAt } : {}),
  };
  return { subject: resultSubject(s.pcId, requestId), data: encodeExecResult(msg), msgID: msg.resultId };
}

export function runEventMessage(
  execId: string,
  pcId: string,
  kind: RunEventKind,
  at = '2025-01-02T03:04:00.000Z',
): Published {
  const requestId = `${execId}-0`;
  const id = runEventIdFor(requestId, pcId, kind);
  return {
    subject: eventSubject(pcId, kind),
    data: encodeRunEvent({ v: 1, id, at, pcId, requestId, execId, jobId: 'disk-usage', kind }),
    msgID: id,
  };
}

export function runStartMessage(
  execId: string,
  expectedPcs: string[],
  deadlineAt: string,
  at = '2025-01-02T03:00:00.000Z',
): Published {
  const details: RunStartInput = {
    execId,
    jobId: 'disk-usage',
    jobVersion: '1.0.0',
    jobRevision: 1,
    targets: [{ kind: 'all' }],
    expectedPcs,
    requestIds: [`${execId}-0`],
    deadlineAt,
    trigger: { kind: 'adhoc', actor: 'tester' },
    params: {},
  };
  const id = `run.start-${execId}`;
  return {
    subject: 'audit.run.start',
    data: encodeAuditEvent({
      v: 1,
      id,
      at,
      actor: { kind: 'user', name: 'tester' },
      action: 'run.start',
      target: { kind: 'exec', id: execId },
      revisionBefore: null,
      revisionAfter: null,
      source: { via: 'cli' },
      summary: `started disk-usage 1.0.0 on all (${expectedPcs.length} expected)`,
      details,
    }),
    msgID: id,
  };
}
