/** A job payload: `i` numbers bulk jobs; `t` is `Date.now()` right before a latency enqueue. */
export interface Payload {
  i?: number;
  t?: number;
}

/** Called once per job as its handler starts. */
export type OnJob = (payload: Payload) => void;

/** Enqueue side, in the orchestrating process, on one fresh database. */
export interface Producer {
  /** Bulk API, one call. */
  enqueueBatch(payloads: Payload[]): Promise<void>;
  /** Single-job API, one call. */
  enqueueOne(payload: Payload): Promise<void>;
  /** Jobs stored in the database (any state), read with SQL. */
  countJobs(): Promise<number>;
  /** Jobs finished successfully (completed, or removed on completion), read with SQL. */
  countFinished(total: number): Promise<number>;
  close(): Promise<void>;
}

/** Worker side, in the child process. `start` is the timed moment. */
export interface Consumer {
  start(onJob: OnJob): Promise<void>;
  stop(): Promise<void>;
}

export interface System {
  readonly name: string;
  readonly version: string;
  /** The settings used, one per line, printed under the table. */
  readonly settings: string[];
  /** Short form for the table. */
  readonly summary: string;
  /** Installs the schema on a fresh database and returns a producer. */
  producer(url: string): Promise<Producer>;
  /** Connects a worker (not yet polling) for the `noop` task. */
  consumer(url: string): Promise<Consumer>;
}
