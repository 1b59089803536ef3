import type { ClaimedRow } from '../queries.js';

/** Claimed jobs waiting for a free slot, in claim order. A moving head keeps take() O(1). */
export class JobBuffer {
  #rows: ClaimedRow[] = [];
  #head = 0;

  get size(): number {
    return this.#rows.length - this.#head;
  }

  push(rows: ClaimedRow[]): void {
    this.#rows = this.size === 0 ? rows : this.#rows.slice(this.#head).concat(rows);
    this.#head = 0;
  }

  take(): ClaimedRow | undefined {
    return this.#head < this.#rows.length ? this.#rows[this.#head++] : undefined;
  }

  has(id: string): boolean {
    return this.#find(id) >= 0;
  }

  /** Removes one job (cancelled or lost); true if it was here. */
  remove(id: string): boolean {
    const index = this.#find(id);
    if (index < 0) return false;
    this.#rows.splice(index, 1);
    return true;
  }

  /** Empties the buffer and returns what it held. */
  drain(): ClaimedRow[] {
    const rows = this.#rows.slice(this.#head);
    this.#rows = [];
    this.#head = 0;
    return rows;
  }

  #find(id: string): number {
    for (let i = this.#head; i < this.#rows.length; i++) if (this.#rows[i]!.id === id) return i;
    return -1;
  }
}
