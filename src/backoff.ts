import type { ParsedBackoff } from './options.js';

export const DEFAULT_BACKOFF: ParsedBackoff = {
  type: 'exponential',
  base: 1_000,
  max: 3_600_000,
  jitter: 0.1,
};

/** Delay in ms before the retry that follows failed attempt number `attempt` (1-based). */
export function backoffDelay(
  backoff: ParsedBackoff,
  attempt: number,
  random: () => number = Math.random,
): number {
  const n = Math.max(1, attempt);
  const raw =
    backoff.type === 'fixed'
      ? backoff.base
      : backoff.type === 'linear'
        ? backoff.base * n
        : backoff.base * 2 ** (n - 1);
  const capped = Math.min(raw, backoff.max ?? 3_600_000);
  const jitter = backoff.jitter ?? 0.1;
  return Math.round(capped * (1 - jitter * random()));
}
