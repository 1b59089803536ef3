import type { ClaimedRow } from '../queries.js';

/** Rows of one lane from one claim, and when they were last known to be this worker's (performance.now() ms). */
interface Batch {
  rows: ClaimedRow[];
  head: number;
  checkedAt: number;
}

/** One lane's batches, oldest first. */
interface Lane {
  key: string;
  queue: string;
  batches: Batch[];
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
  #lanes = new Map<string, Lane>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** Jobs of `queue` waiting (asked once per claim of a limited queue, not per job). */
  sizeOf(queue: string): number {
    let n = 0;
    for (const lane of this.#lanes.values()) {
      if (lane.queue === queue) for (const b of lane.batches) n += b.rows.length - b.head;
    }
    return n;
  }

  /** When the oldest waiting row was last confirmed as ours; Infinity when empty. */
  get oldestCheckAt(): number {
    let oldest = Number.POSITIVE_INFINITY;
    for (const lane of this.#lanes.values()) oldest = Math.min(oldest, lane.batches[0]!.checkedAt);
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
      if (lane) lane.batches.push(batch);
      else this.#lanes.set(key, { key, queue: rows[start]!.queue, batches: [batch] });
      this.#size += i - start;
      start = i;
      key = next;
    }
  }

  /**
   * The next row in claim order among the lanes whose head `mayStart` accepts; undefined if none.
   * Across lanes, the lowest priority value, then run time, then id, of the lanes' heads.
   */
  take(mayStart: (row: ClaimedRow) => boolean): ClaimedRow | undefined {
    let best: Lane | undefined;
    let bestRow: ClaimedRow | undefined;
    for (const lane of this.#lanes.values()) {
      const head = lane.batches[0]!;
      const row = head.rows[head.head]!;
      if (bestRow && !before(row, bestRow)) continue;
      if (!mayStart(row)) continue;
      best = lane;
      bestRow = row;
    }
    if (!best || !bestRow) return undefined;
    const batch = best.batches[0]!;
    batch.head++;
    if (batch.head === batch.rows.length) this.#dropBatch(best, batch);
    this.#size--;
    return bestRow;
  }

  has(id: string): boolean {
    return this.#find(id) !== undefined;
  }

  /** Removes one job (cancelled or lost); true if it was here. */
  remove(id: string): boolean {
    const found = this.#find(id);
    if (!found) return false;
    const [lane, batch, index] = found;
    batch.rows.splice(index, 1);
    this.#size--;
    if (batch.head === batch.rows.length) this.#dropBatch(lane, batch);
    return true;
  }

  /** Empties the buffer and returns what it held, in claim order within each lane. */
  drain(): ClaimedRow[] {
    const rows: ClaimedRow[] = [];
    for (const lane of this.#lanes.values()) for (const b of lane.batches) rows.push(...b.rows.slice(b.head));
    this.#lanes = new Map();
    this.#size = 0;
    return rows;
  }

  /** Removes and returns up to `n` of the newest rows (the last to start), newest lanes' first. */
  takeNewest(n: number): ClaimedRow[] {
    const out: ClaimedRow[] = [];
    for (const lane of [...this.#lanes.values()].reverse()) {
      while (out.length < n && this.#lanes.has(lane.key)) {
        const batch = lane.batches[lane.batches.length - 1]!;
        const keep = Math.max(batch.head, batch.rows.length - (n - out.length));
        out.push(...batch.rows.splice(keep));
        if (batch.head === batch.rows.length) this.#dropBatch(lane, batch);
      }
    }
    this.#size -= out.length;
    return out;
  }

  /** The rows whose ownership was last confirmed before `time`. */
  checkedBefore(time: number): ClaimedRow[] {
    const rows: ClaimedRow[] = [];
    for (const lane of this.#lanes.values()) {
      for (const b of lane.batches) if (b.checkedAt < time) rows.push(...b.rows.slice(b.head));
    }
    return rows;
  }

  /** Marks every row confirmed at `time`. */
  confirmAll(time: number): void {
    for (const lane of this.#lanes.values()) for (const b of lane.batches) b.checkedAt = time;
  }

  #dropBatch(lane: Lane, batch: Batch): void {
    lane.batches.splice(lane.batches.indexOf(batch), 1);
    if (lane.batches.length === 0) this.#lanes.delete(lane.key);
  }

  #find(id: string): [Lane, Batch, number] | undefined {
    for (const lane of this.#lanes.values()) {
      for (const b of lane.batches) {
        for (let i = b.head; i < b.rows.length; i++) if (b.rows[i]!.id === id) return [lane, b, i];
      }
    }
    return undefined;
  }
}

/** Claim order across lanes. */
function before(a: ClaimedRow, b: ClaimedRow): boolean {
  return (a.priority - b.priority || a.run_at_ms - b.run_at_ms || Number(a.id) - Number(b.id)) < 0;
}
