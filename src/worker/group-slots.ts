import type { ClaimedRow } from '../queries.js';
import { laneOf } from './job-buffer.js';

/**
 * Running jobs per limited group. A worker may hold jobs of a group beyond its limit (claimed
 * ahead, see flow_pick's p_group_ahead) while every running job of the group is its own; it
 * starts one only while fewer than the group's limit run.
 */
export class GroupSlots {
  readonly #running = new Map<string, number>();

  mayStart(row: ClaimedRow): boolean {
    return row.group_limit === null || (this.#running.get(laneOf(row)) ?? 0) < row.group_limit;
  }

  started(row: ClaimedRow): void {
    if (row.group_limit === null) return;
    const lane = laneOf(row);
    this.#running.set(lane, (this.#running.get(lane) ?? 0) + 1);
  }

  ended(row: ClaimedRow): void {
    if (row.group_limit === null) return;
    const lane = laneOf(row);
    const n = this.#running.get(lane)! - 1;
    if (n === 0) this.#running.delete(lane);
    else this.#running.set(lane, n);
  }
}
