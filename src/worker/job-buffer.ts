import type { ClaimedRow } from '../queries.js';

/** Rows of one lane from one claim, and when they were last known to be this worker's (performance.now() ms). */
interface Batch {
  rows: ClaimedRow[];
  head: number;
  checkedAt: number;
}

/**
 * The lane a job waits in: its queue, or its queue and group when the group has a limit. A job
 * whose queue or group is at its limit waits without holding up the others'.
 */
export function laneOf(row: ClaimedRow): string {
  return row.group_limit === null ? row.queue : `${row.queue}\u0000${row.group_key}`;
}

/**
 * Claimed jobs waiting for a free slot, in claim order within each lane (see laneOf). Rows are
 * kept in the batches they were claimed in, each with the time its ownership was last confirmed,
 * so the worker can tell when the oldest waiting job must be checked again before it starts. A
 * moving head keeps take() O(1) per lane.
 */
export class JobBuffer {
  #lanes = new Map<string, Batch[]>();
  #size = 0;
  /** Rows waiting per queue. */
  #sizes = new Map<string, number>();

  get size(): number {
    return this.#size;
  }

  /** Jobs of `queue` waiting. */
  sizeOf(queue: string): number {
    return this.#sizes.get(queue) ?? 0;
  }

  /** When the oldest waiting row was last confirmed as ours; Infinity when empty. */
  get oldestCheckAt(): number {
    let oldest = Number.POSITIVE_INFINITY;
    for (const lane of this.#lanes.values()) oldest = Math.min(oldest, lane[0]!.checkedAt);
    return oldest;
  }

  /** Rows in claim order (priority, run time, id). */
  push(rows: ClaimedRow[], checkedAt: number): void {
    if (rows.length === 0) return;
    let start = 0;
    let key = laneOf(rows[0]!);
    // Rows of a claim come sorted by priority, not lane: each run of one lane is a batch.
    for (let i = 1; i <= rows.length; i++) {
      const next = i < rows.length ? laneOf(rows[i]!) : '';
      if (i < rows.length && next === key) continue;
      const batch = {
        rows: start === 0 && i === rows.length ? rows : rows.slice(start, i),
        head: 0,
        checkedAt,
      };
      const lane = this.#lanes.get(key);
      if (lane) lane.push(batch);
      else this.#lanes.set(key, [batch]);
      this.#count(rows[start]!.queue, i - start);
      start = i;
      key = next;
    }
  }

  /**
   * The next row in claim order among the lanes whose head `mayStart` accepts; undefined if none.
   * Across lanes, the lowest priority value, then run time, then id, of the lanes' heads.
   */
  take(mayStart: (row: ClaimedRow) => boolean): ClaimedRow | undefined {
    let best: Batch[] | undefined;
    let bestKey = '';
    let bestRow: ClaimedRow | undefined;
    for (const [key, lane] of this.#lanes) {
      const row = lane[0]!.rows[lane[0]!.head]!;
      if (bestRow && !before(row, bestRow)) continue;
      if (!mayStart(row)) continue;
      best = lane;
      bestKey = key;
      bestRow = row;
    }
    if (!best || !bestRow) return undefined;
    const batch = best[0]!;
    batch.head++;
    if (batch.head === batch.rows.length) this.#dropBatch(bestKey, best, batch);
    this.#count(bestRow.queue, -1);
    return bestRow;
  }

  has(id: string): boolean {
    return this.#find(id) !== undefined;
  }

  /** Removes one job (cancelled or lost); true if it was here. */
  remove(id: string): boolean {
    const found = this.#find(id);
    if (!found) return false;
    const [key, lane, batch, index] = found;
    const [row] = batch.rows.splice(index, 1);
    this.#count(row!.queue, -1);
    if (batch.head === batch.rows.length) this.#dropBatch(key, lane, batch);
    return true;
  }

  /** Empties the buffer and returns what it held, in claim order within each lane. */
  drain(): ClaimedRow[] {
    const rows: ClaimedRow[] = [];
    for (const lane of this.#lanes.values()) for (const b of lane) rows.push(...b.rows.slice(b.head));
    this.#lanes = new Map();
    this.#sizes = new Map();
    this.#size = 0;
    return rows;
  }

  /** Removes and returns up to `n` of the newest rows (the last to start), newest lanes' first. */
  takeNewest(n: number): ClaimedRow[] {
    const out: ClaimedRow[] = [];
    for (const [key, lane] of [...this.#lanes].reverse()) {
      while (out.length < n && lane.length > 0) {
        const batch = lane[lane.length - 1]!;
        const keep = Math.max(batch.head, batch.rows.length - (n - out.length));
        out.push(...batch.rows.splice(keep));
        if (batch.head === batch.rows.length) this.#dropBatch(key, lane, batch);
      }
    }
    for (const row of out) this.#count(row.queue, -1);
    return out;
  }

  /** The rows whose ownership was last confirmed before `time`. */
  checkedBefore(time: number): ClaimedRow[] {
    const rows: ClaimedRow[] = [];
    for (const lane of this.#lanes.values()) {
      for (const b of lane) if (b.checkedAt < time) rows.push(...b.rows.slice(b.head));
    }
    return rows;
  }

  /** Marks every row confirmed at `time`. */
  confirmAll(time: number): void {
    for (const lane of this.#lanes.values()) for (const b of lane) b.checkedAt = time;
  }

  #dropBatch(key: string, lane: Batch[], batch: Batch): void {
    lane.splice(lane.indexOf(batch), 1);
    if (lane.length === 0) this.#lanes.delete(key);
  }

  #count(queue: string, n: number): void {
    this.#size += n;
    this.#sizes.set(queue, (this.#sizes.get(queue) ?? 0) + n);
  }

  #find(id: string): [string, Batch[], Batch, number] | undefined {
    for (const [key, lane] of this.#lanes) {
      for (const b of lane) {
        for (let i = b.head; i < b.rows.length; i++) if (b.rows[i]!.id === id) return [key, lane, b, i];
      }
    }
    return undefined;
  }
}

/** Claim order across lanes. */
function before(a: ClaimedRow, b: ClaimedRow): boolean {
  return (a.priority - b.priority || a.run_at_ms - b.run_at_ms || Number(a.id) - Number(b.id)) < 0;
}
