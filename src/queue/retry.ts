/**
 * Exponential backoff with full jitter: the n-th retry waits a random time between 0 and
 * min(cap, base * 2^(n-1)). Full jitter spreads a burst of failures instead of retrying in lockstep.
 */
export interface RetryPolicy {
  baseMs: number;
  capMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { baseMs: 1_000, capMs: 60 * 60_000 };

/** Upper bound of the wait before retry number `attempt` (1-based: the wait after attempt 1 failed). */
export function backoffCeilingMs(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
}

export function backoffMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  return Math.floor(random() * backoffCeilingMs(policy, attempt));
}

/** When a job that just failed attempt `attempt` runs again, or null when it is out of attempts. */
export function nextRunAt(
  policy: RetryPolicy,
  job: { attempt: number; maxRetries: number },
  now: Date,
  random: () => number = Math.random,
): Date | null {
  if (job.attempt > job.maxRetries) return null;
  return new Date(now.getTime() + backoffMs(policy, job.attempt, random));
}
