/**
 * A one-line progress bar on stderr, redrawn in place. Off when stderr is not a terminal, so
 * logs and CI output get only the final summary the command prints.
 */
export interface Progress {
  update(done: number): void;
  finish(): void;
}

export function createProgress(total: number, label: string, stream = process.stderr): Progress {
  if (!stream.isTTY) return { update() {}, finish() {} };
  const started = performance.now();
  let lastDraw = 0;
  const draw = (done: number) => {
    const width = 30;
    const filled = Math.round((done / total) * width);
    const rate = done / Math.max((performance.now() - started) / 1000, 0.001);
    const pct = Math.floor((done / total) * 100);
    stream.write(
      `\r${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total} ${pct}% ${Math.round(rate)}/s\x1b[K`,
    );
  };
  return {
    update(done) {
      // Redrawing more than ~10 times a second only costs the terminal time.
      const now = performance.now();
      if (done < total && now - lastDraw < 100) return;
      lastDraw = now;
      draw(done);
    },
    finish() {
      stream.write('\n');
    },
  };
}
