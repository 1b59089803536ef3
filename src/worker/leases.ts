import type { ClaimedRow } from '../queries.js';

/**
 * Every job a worker has claimed whose outcome is not yet written, with the claim that holds it:
 * the heartbeat keeps their leases. Entries are only removed by the claim they belong to (its
 * `claimed_at`, not its attempt number, which a snooze gives back), so the late outcome of an
 * earlier claim can never drop the bookkeeping of a newer claim of the same job.
 */
export class Leases {
  readonly #rows = new Map<string, ClaimedRow>();

  /** Takes on a new claim (replacing an earlier claim of the same job). */
  hold(row: ClaimedRow): void {
    this.#rows.set(row.id, row);
  }

  get(id: string): ClaimedRow | undefined {
    return this.#rows.get(id);
  }

  rows(): ClaimedRow[] {
    return [...this.#rows.values()];
  }

  /** Forgets a lease, unless a newer claim of the same job holds it by now. */
  release(id: string, claimedAt: string): void {
    if (this.#held(id, claimedAt)) this.#rows.delete(id);
  }

  /**
   * Whether writing these outcomes frees room in a limit: a limited queue or a group (see
   * Fetcher.along). On the policy path `unblocks` also stands for those; a plain key sets it on
   * either path, and a key's next job is taken by the fetch loop's own claims.
   */
  freesLimit(outcomes: readonly { id: string; claimedAt: string }[]): boolean {
    return outcomes.some(({ id, claimedAt }) => {
      const row = this.#held(id, claimedAt);
      return row?.unblocks === true && row.key === null;
    });
  }

  /** Forgets the claims whose outcomes were written; true if one of them may unblock another job. */
  written(outcomes: readonly { id: string; claimedAt: string }[]): boolean {
    let unblocked = false;
    for (const { id, claimedAt } of outcomes) {
      unblocked ||= this.#held(id, claimedAt)?.unblocks === true;
      this.release(id, claimedAt);
    }
    return unblocked;
  }

  delete(id: string): void {
    this.#rows.delete(id);
  }

  /** The claim `claimedAt` of job `id`, if it is still the one held. */
  #held(id: string, claimedAt: string): ClaimedRow | undefined {
    const row = this.#rows.get(id);
    return row?.claimed_at === claimedAt ? row : undefined;
  }
}
