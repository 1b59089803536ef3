import { api } from './api.js';
import { ActionButton, html, Loading, STATES, usePoll } from './components.js';

const duration = (ms) =>
  ms % 3_600_000 === 0
    ? `${ms / 3_600_000}h`
    : ms % 60_000 === 0
      ? `${ms / 60_000}m`
      : ms % 1000 === 0
        ? `${ms / 1000}s`
        : `${ms}ms`;
// Stored periods are milliseconds.
const rate = (r) => (r ? `${r.limit} per ${duration(r.period)}` : '—');

export function QueuesPage() {
  const state = usePoll(() => api('queues'), []);
  const waiting = Loading({ state });
  if (waiting) return waiting;
  const act = async (name, action) => {
    await api(`queues/${encodeURIComponent(name)}/${action}`, { method: 'POST' });
    await state.reload();
  };
  return html`<section>
    <h1>Queues</h1>
    <table data-testid="queues">
      <thead><tr>
        <th>Queue</th><th>Status</th><th class="num">Concurrency</th><th>Rate limit</th>
        <th class="num">Group concurrency</th><th>Group rate limit</th>
        ${STATES.map((s) => html`<th class="num">${s}</th>`)}<th></th>
      </tr></thead>
      <tbody>
        ${state.data.queues.map(
          (q) => html`<tr data-queue=${q.name}>
            <td><a href=${`#/jobs?queue=${encodeURIComponent(q.name)}`}>${q.name}</a></td>
            <td data-testid="queue-status">${q.paused ? html`<span class="badge state-failed">paused</span>` : 'active'}</td>
            <td class="num">${q.concurrency ?? '—'}</td>
            <td>${rate(q.rateLimit)}</td>
            <td class="num">${q.groupConcurrency ?? '—'}</td>
            <td>${rate(q.groupRateLimit)}</td>
            ${STATES.map((s) => html`<td class="num">${q.counts?.[s] ?? 0}</td>`)}
            <td>${
              q.paused
                ? html`<${ActionButton} label="Resume" testId="resume" action=${() => act(q.name, 'resume')} />`
                : html`<${ActionButton} label="Pause" kind="danger" testId="pause" action=${() => act(q.name, 'pause')} />`
            }</td>
          </tr>`,
        )}
        ${state.data.queues.length === 0 ? html`<tr><td colspan="12" class="muted">No queues yet</td></tr>` : null}
      </tbody>
    </table>
  </section>`;
}
