import { api } from './api.js';
import { ActionButton, ago, formatTime, html, Loading, usePoll } from './components.js';

const specText = (s) =>
  s.spec?.cron ??
  (s.spec?.every !== undefined ? `every ${s.spec.every}` : null) ??
  s.spec?.iso ??
  (s.spec?.at ? `once at ${s.spec.at}` : s.kind);

export function SchedulesPage() {
  const state = usePoll(() => api('schedules'), []);
  const waiting = Loading({ state });
  if (waiting) return waiting;
  const act = async (name, action) => {
    await api(`schedules/${encodeURIComponent(name)}/${action}`, { method: 'POST' });
    await state.reload();
  };
  return html`<section>
    <h1>Schedules</h1>
    <table data-testid="schedules">
      <thead><tr><th>Name</th><th>Spec</th><th>Time zone</th><th>Job</th><th>Next five fires</th><th>Last fire</th><th>Status</th><th class="num">Version</th><th></th></tr></thead>
      <tbody>
        ${state.data.schedules.map(
          (s) => html`<tr data-schedule=${s.name}>
            <td>${s.name}</td>
            <td><code>${specText(s)}</code></td>
            <td>${s.tz}</td>
            <td><a href=${`#/jobs?name=${encodeURIComponent(s.job)}`}>${s.job}</a></td>
            <td><ul class="fires">${s.upcoming.map((t) => html`<li>${formatTime(t)}</li>`)}</ul>${s.upcoming.length === 0 ? html`<span class="muted">—</span>` : null}</td>
            <td title=${s.lastFireAt ?? ''}>${ago(s.lastFireAt)}</td>
            <td data-testid="schedule-status">${s.paused ? html`<span class="badge state-failed">paused</span>` : 'active'}</td>
            <td class="num">${s.version}</td>
            <td>${
              s.paused
                ? html`<${ActionButton} label="Resume" testId="resume" action=${() => act(s.name, 'resume')} />`
                : html`<${ActionButton} label="Pause" kind="danger" testId="pause" action=${() => act(s.name, 'pause')} />`
            }</td>
          </tr>`,
        )}
        ${state.data.schedules.length === 0 ? html`<tr><td colspan="9" class="muted">No schedules</td></tr>` : null}
      </tbody>
    </table>
  </section>`;
}
