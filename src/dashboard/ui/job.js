import { api } from './api.js';
import {
  ActionButton,
  ErrorBox,
  formatTime,
  html,
  Json,
  Loading,
  StateBadge,
  usePoll,
} from './components.js';

const TIMES = [
  ['createdAt', 'Created'],
  ['runAt', 'Run at'],
  ['startedAt', 'Started'],
  ['finishedAt', 'Finished'],
  ['lockedUntil', 'Locked until'],
];

export function JobPage({ id }) {
  const state = usePoll(() => api(`jobs/${encodeURIComponent(id)}`), [id]);
  const waiting = Loading({ state });
  if (waiting) return waiting;
  const job = state.data;
  const act = async (action) => {
    if (action === 'delete') {
      await api(`jobs/${encodeURIComponent(id)}`, { method: 'DELETE' });
      location.hash = '#/jobs';
      return;
    }
    await api(`jobs/${encodeURIComponent(id)}/${action}`, { method: 'POST' });
    await state.reload();
  };
  return html`<section data-testid="job">
    <h1>Job ${job.id} <small>${job.name}</small></h1>
    <${ErrorBox} error=${state.error} />
    <div class="toolbar">
      ${['failed', 'cancelled'].includes(job.state) ? html`<${ActionButton} label="Retry" testId="retry" action=${() => act('retry')} />` : null}
      ${['pending', 'running'].includes(job.state) ? html`<${ActionButton} label="Cancel" kind="danger" testId="cancel" action=${() => act('cancel')} />` : null}
      ${job.state !== 'running' ? html`<${ActionButton} label="Delete" kind="danger" testId="delete" confirm=${`Delete job ${job.id}?`} action=${() => act('delete')} />` : null}
    </div>
    <dl class="fields">
      <dt>State</dt><dd data-testid="job-state"><${StateBadge} state=${job.state} /></dd>
      <dt>Queue</dt><dd><a href=${`#/jobs?queue=${encodeURIComponent(job.queue)}`}>${job.queue}</a></dd>
      <dt>Attempt</dt><dd>${job.attempt}${job.maxAttempts ? ` of ${job.maxAttempts}` : ''}</dd>
      <dt>Priority</dt><dd>${job.priority}</dd>
      ${job.group ? html`<dt>Group</dt><dd>${job.group}</dd>` : null}
      ${job.key ? html`<dt>Key</dt><dd>${job.key}</dd>` : null}
      ${job.schedule ? html`<dt>Schedule</dt><dd>${job.schedule} (fire at ${formatTime(job.fireAt)})</dd>` : null}
      ${job.lockedBy ? html`<dt>Locked by</dt><dd><code>${job.lockedBy}</code></dd>` : null}
      ${TIMES.map(([field, label]) => (job[field] ? html`<dt>${label}</dt><dd>${formatTime(job[field])}</dd>` : null))}
    </dl>
    <h2>Payload</h2>
    <div data-testid="payload"><${Json} value=${job.payload} /></div>
    ${job.progress !== undefined && job.progress !== null ? html`<h2>Progress</h2><div data-testid="progress"><${Json} value=${job.progress} /></div>` : null}
    <h2>Result</h2>
    <div data-testid="result"><${Json} value=${job.result} /></div>
    <h2>Errors</h2>
    ${
      job.errors?.length
        ? job.errors.map(
            (e) => html`<div class="job-error">
              <div><strong>Attempt ${e.attempt}</strong> · ${formatTime(e.at)} · ${e.name ?? 'Error'}${e.kind ? ` (${e.kind})` : ''}</div>
              <div class="message">${e.message}</div>
              ${e.stack ? html`<pre class="stack">${e.stack}</pre>` : null}
            </div>`,
          )
        : html`<p class="muted">none</p>`
    }
    <h2>Attempts</h2>
    ${
      job.attempts?.length
        ? html`<table data-testid="attempts">
            <thead><tr><th class="num">#</th><th>Outcome</th><th>Worker</th><th>Started</th><th>Finished</th><th>Error</th></tr></thead>
            <tbody>${job.attempts.map(
              (a) => html`<tr>
                <td class="num">${a.attempt}</td><td>${a.outcome ?? 'running'}</td><td><code>${a.worker ?? '—'}</code></td>
                <td>${formatTime(a.startedAt)}</td><td>${formatTime(a.finishedAt)}</td>
                <td>${typeof a.error === 'string' ? a.error : (a.error?.message ?? '')}</td>
              </tr>`,
            )}</tbody>
          </table>`
        : html`<p class="muted">none recorded</p>`
    }
  </section>`;
}
