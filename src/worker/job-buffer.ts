import type { ClaimedRow } from '../queries.js';

/** Rows of one queue from one claim, and when they were last known to be this worker's (performance.now() ms). */
interface Batch {
  rows: ClaimedRow[];
  head: number;
  checkedAt: number;
}

/**
 * Claimed jobs waiting for a free slot, in claim order within each queue. Rows are kept in the
 * batches they were claimed in, each with the time its ownership was last confirmed, so the worker
 * can tell when the oldest waiting job must be checked again before it starts. Each queue has its
 * own lane, so that jobs of a queue at its concurrency limit wait without holding up the others'.
 * A moving head keeps take() O(1) per lane.
 */
export class JobBuffer {
  #lanes = new Map<string, Batch[]>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** Jobs of `queue` waiting. */
  sizeOf(queue: string): number {
    let n = 0;
    for (const b of this.#lanes.get(queue) ?? []) n += b.rows.length - b.head;
    return n;
  }

  /** When the oldest waiting row was last confirmed as ours; Infinity when empty. */
  get oldestCheckAt(): number {
    let oldest = Number.POSITIVE_INFINITY;
    for (const lane of this.#lanes.values()) oldest = Math.min(oldest, lane[0]!.checkedAt);
    return oldest;
  }

  /** Rows in claim order (priority, run time, id). */
  push(rows: ClaimedRow[], checkedAt: number): void {
    let start = 0;
    // Rows of a claim come sorted by priority, not queue: each run of one queue is a batch.
    for (let i = 1; i <= rows.length; i++) {
      if (i < rows.length && rows[i]!.queue === rows[start]!.queue) continue;
      const queue = rows[start]!.queue;
      const lane = this.#lanes.get(queue);
      const batch = {
        rows: start === 0 && i === rows.length ? rows : rows.slice(start, i),
        head: 0,
        checkedAt,
      };
      if (lane) lane.push(batch);
      else this.#lanes.set(queue, [batch]);
      this.#size += i - start;
      start = i;
    }
  }

  /**
   * The next row in claim order among the queues for which `mayStart` holds; undefined if none.
   * Across queues, the lowest priority value, then run time, then id, of the lanes' heads.
   */
  take(mayStart: (queue: string) => boolean): ClaimedRow | undefined {
    let best: Batch[] | undefined;
    let bestRow: ClaimedRow | undefined;
    for (const [queue, lane] of this.#lanes) {
      const row = lane[0]!.rows[lane[0]!.head]!;
      if (bestRow && !before(row, bestRow)) continue;
      if (!mayStart(queue)) continue;
      best = lane;
      bestRow = row;
    }
    if (!best || !bestRow) return undefined;
    this.#advance(best, bestRow.queue);
    return bestRow;
  }

  has(id: string): boolean {
    return this.#find(id) !== undefined;
  }

  /** Removes one job (cancelled or lost); true if it was here. */
  remove(id: string): boolean {
    const found = this.#find(id);
    if (!found) return false;
    const [queue, lane, batch, index] = found;
    batch.rows.splice(index, 1);
    this.#size--;
    if (batch.head === batch.rows.length) this.#dropBatch(queue, lane, batch);
    return true;
  }

  /** Empties the buffer and returns what it held, in claim order within each queue. */
  drain(): ClaimedRow[] {
    const rows: ClaimedRow[] = [];
    for (const lane of this.#lanes.values()) for (const b of lane) rows.push(...b.rows.slice(b.head));
    this.#lanes = new Map();
    this.#size = 0;
    return rows;
  }

  /** Removes and returns up to `n` of the newest rows (the last to start), newest lanes' first. */
  takeNewest(n: number): ClaimedRow[] {
    const out: ClaimedRow[] = [];
    for (const [queue, lane] of [...this.#lanes].reverse()) {
      while (out.length < n && lane.length > 0) {
        const batch = lane[lane.length - 1]!;
        const keep = Math.max(batch.head, batch.rows.length - (n - out.length));
        out.push(...batch.rows.splice(keep));
        if (batch.head === batch.rows.length) this.#dropBatch(queue, lane, batch);
      }
    }
    this.#size -= out.length;
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

  #advance(lane: Batch[], queue: string): void {
    const batch = lane[0]!;
    batch.head++;
    this.#size--;
    if (batch.head === batch.rows.length) {
      lane.shift();
      if (lane.length === 0) this.#lanes.delete(queue);
    }
  }

  #dropBatch(queue: string, lane: Batch[], batch: Batch): void {
    lane.splice(lane.indexOf(batch), 1);
    if (lane.length === 0) this.#lanes.delete(queue);
  }

  #find(id: string): [string, Batch[], Batch, number] | undefined {
    for (const [queue, lane] of this.#lanes) {
      for (const b of lane) {
        for (let i = b.head; i < b.rows.length; i++) if (b.rows[i]!.id === id) return [queue, lane, b, i];
      }
    }
    return undefined;
  }
}

/** Claim order across queues. */
function before(a: ClaimedRow, b: ClaimedRow): boolean {
  return (a.priority - b.priority || a.run_at_ms - b.run_at_ms || Number(a.id) - Number(b.id)) < 0;
}
