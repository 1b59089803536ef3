import type { ClaimedRow } from '../queries.js';

/** One claim's rows and when they were last known to be this worker's (performance.now() ms). */
interface Batch {
  rows: ClaimedRow[];
  head: number;
  checkedAt: number;
}

/**
 * Claimed jobs waiting for a free slot, in claim order. Rows are kept in the batches they were
 * claimed in, each with the time its ownership was last confirmed, so the worker can tell when
 * the oldest waiting job must be checked again before it starts. A moving head keeps take() O(1).
 */
export class JobBuffer {
  #batches: Batch[] = [];
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** When the oldest waiting row was last confirmed as ours; Infinity when empty. */
  get oldestCheckAt(): number {
    return this.#batches[0]?.checkedAt ?? Number.POSITIVE_INFINITY;
  }

  push(rows: ClaimedRow[], checkedAt: number): void {
    if (rows.length === 0) return;
    this.#batches.push({ rows, head: 0, checkedAt });
    this.#size += rows.length;
  }

  take(): ClaimedRow | undefined {
    const batch = this.#batches[0];
    if (!batch) return undefined;
    const row = batch.rows[batch.head++]!;
    if (batch.head === batch.rows.length) this.#batches.shift();
    this.#size--;
    return row;
  }

  has(id: string): boolean {
    return this.#find(id) !== undefined;
  }

  /** Removes one job (cancelled or lost); true if it was here. */
  remove(id: string): boolean {
    const found = this.#find(id);
    if (!found) return false;
    const [batch, index] = found;
    batch.rows.splice(index, 1);
    if (batch.head === batch.rows.length) this.#batches.splice(this.#batches.indexOf(batch), 1);
    this.#size--;
    return true;
  }

  /** Empties the buffer and returns what it held, oldest first. */
  drain(): ClaimedRow[] {
    const rows = this.#batches.flatMap((b) => b.rows.slice(b.head));
    this.#batches = [];
    this.#size = 0;
    return rows;
  }

  /** Removes and returns up to `n` of the newest rows (the last to start). */
  takeNewest(n: number): ClaimedRow[] {
    const out: ClaimedRow[] = [];
    while (out.length < n && this.#batches.length > 0) {
      const batch = this.#batches[this.#batches.length - 1]!;
      const keep = Math.max(batch.head, batch.rows.length - (n - out.length));
      out.push(...batch.rows.splice(keep));
      if (batch.head === batch.rows.length) this.#batches.pop();
    }
    this.#size -= out.length;
    return out;
  }

  /** The rows whose ownership was last confirmed before `time`. */
  checkedBefore(time: number): ClaimedRow[] {
    const rows: ClaimedRow[] = [];
    for (const b of this.#batches) if (b.checkedAt < time) rows.push(...b.rows.slice(b.head));
    return rows;
  }

  /** Marks every row confirmed at `time` (one batch, in the same order). */
  confirmAll(time: number): void {
    const rows = this.drain();
    this.push(rows, time);
  }

  #find(id: string): [Batch, number] | undefined {
    for (const b of this.#batches) {
      for (let i = b.head; i < b.rows.length; i++) if (b.rows[i]!.id === id) return [b, i];
    }
    return undefined;
  }
}
