// When the agent runs a request again: only for jobs that declare `retry` (docs/manifests.md), only
// after an outcome the policy lists, only while attempts are left and only when the next attempt
// would start before the request's deadline (after it, the agent must not start the request at
// all). Pure, so the rule is unit-tested without processes.
import type { ExecRequest, ResultStatus, RetryOn } from '../wire/index.js';

/** Longest wait between two attempts, whatever the doubling gives. */
export const MAX_RETRY_DELAY_MS = 3_600_000;

/** The policy outcome a result is, or null when no policy can retry it (ok, skipped, killed). */
export function retryOutcome(status: ResultStatus, reason: string | undefined): RetryOn | null {
  switch (status) {
    case 'failed':
    case 'timeout':
      return status;
    case 'error':
      return reason === 'agent_restarted' ? 'agent_restarted' : null;
    case 'ok':
    case 'skipped':
    case 'killed':
      return null;
    default: {
      const never: never = status;
      throw new Error(`unknown result status ${String(never)}`);
    }
  }
}

/**
 * When attempt `attempt + 1` may start, or null when `attempt` (from 1) was the last one.
 * The wait before retry k is `backoffMs * 2^(k-1)`, at most {@link MAX_RETRY_DELAY_MS}.
 */
export function nextAttemptAt(
  request: Pick<ExecRequest, 'retry' | 'deadlineAt'>,
  attempt: number,
  status: ResultStatus,
  reason: string | undefined,
  now: Date,
): Date | null {
  const policy = request.retry;
  if (!policy) return null;
  const outcome = retryOutcome(status, reason);
  if (outcome === null || !policy.on.includes(outcome)) return null;
  if (attempt > policy.max) return null;
  const waitMs = Math.min(MAX_RETRY_DELAY_MS, policy.backoffMs * 2 ** (attempt - 1));
  const at = new Date(now.getTime() + waitMs);
  return at.getTime() < Date.parse(request.deadlineAt) ? at : null;
}
