import type { ClaimedRow } from '../queries.js';

/**
 * Every job a worker has claimed whose outcome is not yet written, with the claim that holds it:
 * the heartbeat keeps their leases. Entries are only removed by the claim they belong to (its
 * `claimed_at`, not its attempt number, which a snooze gives back), so the late outcome of an
 * earlier claim can never drop the bookkeeping of a newer claim of the same job.
 */
export class Leases {
  readonly #rows = new Map<string, ClaimedRow>();
  /**
   * Claims (id → claimed_at) whose written outcome may let another job start (groups, keys,
   * limited queues). By claim, like the leases: an earlier claim's late outcome must not consume
   * a newer one's marker.
   */
  readonly #unblocking = new Map<string, string>();

  /**
   * Claims (id → claimed_at) whose written outcome frees room in a limit: a limited queue or a
   * group (a key's next job is not limited: the fetch loop's own claims take it).
   */
  readonly #freeing = new Map<string, string>();

  /** Takes on a new claim (replacing an earlier claim of the same job). */
  hold(row: ClaimedRow): void {
    this.#rows.set(row.id, row);
    if (row.unblocks) this.#unblocking.set(row.id, row.claimed_at);
    // On the policy path `unblocks` also stands for a group or a limited queue; a plain key alone
    // sets it on either path.
    if (row.unblocks && row.key === null) this.#freeing.set(row.id, row.claimed_at);
  }

  get(id: string): ClaimedRow | undefined {
    return this.#rows.get(id);
  }

  rows(): ClaimedRow[] {
    return [...this.#rows.values()];
  }

  /** Forgets a claim (its lease and markers), unless a newer claim of the same job holds it by now. */
  release(id: string, claimedAt: string): void {
    if (this.#rows.get(id)?.claimed_at === claimedAt) this.#rows.delete(id);
    if (this.#unblocking.get(id) === claimedAt) this.#unblocking.delete(id);
    if (this.#freeing.get(id) === claimedAt) this.#freeing.delete(id);
  }

  /** Whether writing these outcomes frees room in a limit (see Fetcher.along). */
  freesLimit(outcomes: readonly { id: string; claimedAt: string }[]): boolean {
    if (this.#freeing.size === 0) return false;
    return outcomes.some(({ id, claimedAt }) => this.#freeing.get(id) === claimedAt);
  }

  /** Forgets the claims whose outcomes were written; true if one of them may unblock another job. */
  written(outcomes: readonly { id: string; claimedAt: string }[]): boolean {
    let unblocked = false;
    for (const { id, claimedAt } of outcomes) {
      unblocked ||= this.#unblocking.get(id) === claimedAt;
      this.release(id, claimedAt);
    }
    return unblocked;
  }

  delete(id: string): void {
    this.#rows.delete(id);
    this.#unblocking.delete(id);
    this.#freeing.delete(id);
  }
}
