/**
 * What the CLI prints: JSON for scripts, aligned tables for people. Colours only when stdout is
 * a terminal (and NO_COLOR is unset), so piped output never carries escape codes.
 */

const ANSI = { red: 31, green: 32, yellow: 33, blue: 34, cyan: 36, gray: 90, bold: 1 } as const;
export type Colour = keyof typeof ANSI;

export function colourEnabled(stream: NodeJS.WriteStream = process.stdout): boolean {
  return Boolean(stream.isTTY) && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
}

export function paint(text: string, colour: Colour | undefined, stream = process.stdout): string {
  if (!colour || !colourEnabled(stream)) return text;
  return `\x1b[${ANSI[colour]}m${text}\x1b[0m`;
}

/** The colour of a job state, for tables and details. */
export function stateColour(state: string): Colour | undefined {
  switch (state) {
    case 'completed':
      return 'green';
    case 'failed':
    case 'lease-expired':
      return 'red';
    case 'running':
      return 'cyan';
    case 'pending':
      return 'yellow';
    case 'cancelled':
      return 'gray';
    default:
      return undefined;
  }
}

/** JSON with bigints as strings (job ids are bigints in some drivers' hands). */
export function toJson(value: unknown, indent = 2): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), indent);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${toJson(value)}\n`);
}

/** A timestamp for tables: UTC to the second, or `-`. */
export function formatTime(value: Date | string | null | undefined): string {
  if (value === null || value === undefined) return '-';
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return `${date.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

export function formatCell(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (value instanceof Date) return formatTime(value);
  if (typeof value === 'object') return toJson(value, 0);
  return String(value);
}

export interface Column<Row> {
  header: string;
  value: (row: Row) => unknown;
  align?: 'left' | 'right';
  colour?: (row: Row) => Colour | undefined;
}

/** Aligned columns separated by two spaces; colour is applied after padding so widths stay right. */
export function renderTable<Row>(rows: readonly Row[], columns: readonly Column<Row>[]): string {
  const cells = rows.map((row) => columns.map((c) => clip(formatCell(c.value(row)))));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i]!.length)));
  const pad = (text: string, i: number) =>
    columns[i]!.align === 'right' ? text.padStart(widths[i]!) : text.padEnd(widths[i]!);
  const header = columns.map((c, i) => paint(pad(c.header.toUpperCase(), i), 'bold')).join('  ');
  const lines = cells.map((r, ri) =>
    r
      .map((text, i) => paint(pad(text, i), columns[i]!.colour?.(rows[ri]!)))
      .join('  ')
      .trimEnd(),
  );
  return [header.trimEnd(), ...lines].join('\n');
}

export function printTable<Row>(rows: readonly Row[], columns: readonly Column<Row>[], empty: string): void {
  if (rows.length === 0) {
    process.stdout.write(`${empty}\n`);
    return;
  }
  process.stdout.write(`${renderTable(rows, columns)}\n`);
}

/** `key: value` lines with the keys aligned, for `show` commands. */
export function renderDetails(entries: readonly [string, unknown, Colour?][]): string {
  const width = Math.max(...entries.map(([k]) => k.length)) + 1;
  return entries
    .map(
      ([key, value, colour]) =>
        `${paint(`${key}:`.padEnd(width), 'bold')} ${paint(formatCell(value), colour)}`,
    )
    .join('\n');
}

/** Table cells stay on one line and within reason; `show --json` has the whole value. */
function clip(text: string, max = 60): string {
  const line = text.replace(/\s+/g, ' ');
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
