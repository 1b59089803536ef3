import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { config, credentials, onUnauthorized, signIn, signOut } from './api.js';
import { html } from './components.js';
import { JobPage } from './job.js';
import { JobsPage } from './jobs.js';
import { OverviewPage } from './overview.js';
import { QueuesPage } from './queues.js';
import { SchedulesPage } from './schedules.js';

/** `#/jobs/42?x=1` → { path: ['jobs', '42'], params }. */
function parseHash() {
  const [path, search] = location.hash.replace(/^#\/?/, '').split('?');
  return {
    path: path.split('/').filter(Boolean).map(decodeURIComponent),
    params: new URLSearchParams(search),
  };
}

function useRoute() {
  const [route, setRoute] = useState(parseHash);
  useEffect(() => {
    const update = () => setRoute(parseHash());
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return route;
}

function SignIn({ onDone }) {
  const [fields, setFields] = useState({ token: '', username: '', password: '' });
  const set = (name) => (e) => setFields({ ...fields, [name]: e.target.value });
  const submit = (e) => {
    e.preventDefault();
    signIn(fields);
    onDone();
  };
  return html`<form class="signin" onSubmit=${submit}>
    <h2>Sign in</h2>
    ${
      config.auth === 'token'
        ? html`<label>Token <input type="password" name="token" value=${fields.token} onInput=${set('token')} autofocus /></label>`
        : html`<label>User <input name="username" value=${fields.username} onInput=${set('username')} autofocus /></label>
            <label>Password <input type="password" name="password" value=${fields.password} onInput=${set('password')} /></label>`
    }
    <button type="submit">Sign in</button>
  </form>`;
}

const NAV = [
  ['', 'Overview'],
  ['jobs', 'Jobs'],
  ['queues', 'Queues'],
  ['schedules', 'Schedules'],
];

function App() {
  const route = useRoute();
  const [needsAuth, setNeedsAuth] = useState(config.auth !== 'none' && !credentials());
  const [epoch, setEpoch] = useState(0);
  useEffect(() => onUnauthorized(() => setNeedsAuth(true)), []);
  const [section, id] = route.path;

  let page;
  if (needsAuth) {
    page = html`<${SignIn} onDone=${() => {
      setNeedsAuth(false);
      setEpoch(epoch + 1);
    }} />`;
  } else if (section === 'jobs' && id) page = html`<${JobPage} id=${id} />`;
  else if (section === 'jobs') page = html`<${JobsPage} params=${route.params} />`;
  else if (section === 'queues') page = html`<${QueuesPage} />`;
  else if (section === 'schedules') page = html`<${SchedulesPage} />`;
  else page = html`<${OverviewPage} />`;

  return html`<header>
      <a class="brand" href="#/">pgsched</a>
      <nav>
        ${NAV.map(([path, label]) => html`<a href=${`#/${path}`} class=${(section ?? '') === path ? 'active' : ''}>${label}</a>`)}
      </nav>
      <span class="spacer"></span>
      ${config.readOnly ? html`<span class="badge">read-only</span>` : null}
      ${
        config.auth !== 'none' && !needsAuth
          ? html`<button class="link" onClick=${() => {
              signOut();
              setNeedsAuth(true);
            }}>Sign out</button>`
          : null
      }
    </header>
    <main key=${epoch}>${page}</main>`;
}

const root = document.getElementById('root');
// Replace the static 'Loading…' rather than render beside it.
root.textContent = '';
render(html`<${App} />`, root);
