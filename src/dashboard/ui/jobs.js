import { useState } from 'preact/hooks';
import { api, query } from './api.js';
import { ActionButton, ago, ErrorBox, html, Loading, STATES, StateBadge, usePoll } from './components.js';

const FILTERS = ['state', 'queue', 'name', 'group', 'key'];
const PAGE_SIZE = 50;

function go(fields) {
  location.hash = `#/jobs${query(fields)}`;
}

function Filters({ filter }) {
  const [draft, setDraft] = useState(filter);
  const set = (name) => (e) => setDraft({ ...draft, [name]: e.target.value });
  const submit = (e) => {
    e.preventDefault();
    go(draft);
  };
  return html`<form class="filters" onSubmit=${submit} data-testid="job-filters">
    <label>State
      <select name="state" value=${draft.state ?? ''} onChange=${set('state')}>
        <option value="">any</option>
        ${STATES.map((s) => html`<option value=${s}>${s}</option>`)}
      </select>
    </label>
    ${['queue', 'name', 'group', 'key'].map(
      (f) =>
        html`<label>${f[0].toUpperCase() + f.slice(1)}<input name=${f} value=${draft[f] ?? ''} onInput=${set(f)} /></label>`,
    )}
    <button type="submit">Filter</button>
    <button type="button" class="link" onClick=${() => go({})}>Clear</button>
  </form>`;
}

export function JobsPage({ params }) {
  const filter = Object.fromEntries(FILTERS.map((f) => [f, params.get(f) ?? '']).filter(([, v]) => v));
  const after = params.get('after') ?? '';
  // `limit` stays in the URL so that paging keeps the page size; it is not a bulk filter.
  const limit = params.get('limit') ?? '';
  const key = `${query(filter)}|${after}|${limit}`;
  const state = usePoll(() => api(`jobs${query({ ...filter, limit: limit || PAGE_SIZE, after })}`), [key]);
  const [notice, setNotice] = useState();

  const bulk = async (action) => {
    const { count } = await api(`jobs/${action}`, { method: 'POST', body: filter });
    setNotice(`${action === 'retry' ? 'Retried' : 'Cancelled'} ${count} job${count === 1 ? '' : 's'}`);
    state.reload();
  };
  const described = Object.keys(filter).length
    ? Object.entries(filter)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')
    : 'no filter: every job';

  return html`<section>
    <h1>Jobs</h1>
    <${Filters} filter=${filter} key=${key} />
    <div class="toolbar">
      <${ActionButton} label="Retry matching" testId="bulk-retry" confirm=${`Retry every failed or cancelled job matching ${described}?`} action=${() => bulk('retry')} />
      <${ActionButton} label="Cancel matching" kind="danger" testId="bulk-cancel" confirm=${`Cancel every pending or running job matching ${described}?`} action=${() => bulk('cancel')} />
      ${notice ? html`<span class="notice" data-testid="notice">${notice}</span>` : null}
    </div>
    ${
      Loading({ state }) ??
      html`<${ErrorBox} error=${state.error} />
      <table data-testid="jobs">
        <thead><tr><th class="num">Id</th><th>Name</th><th>Queue</th><th>State</th><th class="num">Attempt</th><th>Created</th><th>Run at</th><th>Finished</th></tr></thead>
        <tbody>
          ${state.data.jobs.map(
            (j) => html`<tr data-job-id=${j.id}>
              <td class="num"><a href=${`#/jobs/${j.id}`}>${j.id}</a></td>
              <td>${j.name}</td>
              <td>${j.queue}</td>
              <td><${StateBadge} state=${j.state} /></td>
              <td class="num">${j.attempt}${j.maxAttempts ? `/${j.maxAttempts}` : ''}</td>
              <td title=${j.createdAt}>${ago(j.createdAt)}</td>
              <td title=${j.runAt}>${ago(j.runAt)}</td>
              <td title=${j.finishedAt ?? ''}>${ago(j.finishedAt)}</td>
            </tr>`,
          )}
          ${state.data.jobs.length === 0 ? html`<tr><td colspan="8" class="muted">No jobs match</td></tr>` : null}
        </tbody>
      </table>
      <div class="pager">
        ${after ? html`<button onClick=${() => go({ ...filter, limit })}>First page</button>` : null}
        ${state.data.next ? html`<button data-testid="next-page" onClick=${() => go({ ...filter, limit, after: state.data.next })}>Next page</button>` : null}
      </div>`
    }
  </section>`;
}
