import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { api } from './api.js';
import { ago, ErrorBox, html, Loading, STATES, usePoll } from './components.js';

async function loadOverview() {
  // Each part fails on its own (e.g. a pgsched without queue policies): show what there is.
  const [queues, stats, workers] = await Promise.allSettled([api('queues'), api('stats'), api('workers')]);
  const policies = new Map(queues.status === 'fulfilled' ? queues.value.queues.map((q) => [q.name, q]) : []);
  const counted = stats.status === 'fulfilled' ? stats.value.queues : [];
  const names = [...new Set([...counted.map((q) => q.queue), ...policies.keys()])].sort();
  return {
    queues: names.map((name) => {
      const s = counted.find((q) => q.queue === name);
      const p = policies.get(name);
      return {
        name,
        counts: s?.counts ?? p?.counts ?? {},
        paused: p?.paused ?? false,
        completedLastMinute: s?.completedLastMinute ?? 0,
        failedLastMinute: s?.failedLastMinute ?? 0,
      };
    }),
    throughput: stats.status === 'fulfilled' ? stats.value.throughput : [],
    statsError: stats.status === 'rejected' ? stats.reason : undefined,
    workers: workers.status === 'fulfilled' ? workers.value.workers : [],
    workersError: workers.status === 'rejected' ? workers.reason : undefined,
  };
}

/** Completed and failed per minute over the last hour. */
function ThroughputChart({ points }) {
  const element = useRef();
  const chart = useRef();
  useEffect(() => {
    const data = [points.map((p) => p.t), points.map((p) => p.completed), points.map((p) => p.failed)];
    if (!chart.current) {
      chart.current = new uPlot(
        {
          width: Math.max(320, element.current.clientWidth),
          height: 220,
          series: [
            {},
            {
              label: 'completed / min',
              stroke: '#2f9e44',
              fill: 'rgba(47,158,68,0.1)',
              points: { show: false },
            },
            {
              label: 'failed / min',
              stroke: '#e03131',
              fill: 'rgba(224,49,49,0.1)',
              points: { show: false },
            },
          ],
          axes: [{}, { size: 50 }],
        },
        data,
        element.current,
      );
    } else chart.current.setData(data);
  }, [points]);
  useEffect(() => {
    const resize = () =>
      chart.current?.setSize({ width: Math.max(320, element.current.clientWidth), height: 220 });
    addEventListener('resize', resize);
    return () => {
      removeEventListener('resize', resize);
      chart.current?.destroy();
    };
  }, []);
  return html`<div class="chart" ref=${element} data-testid="throughput-chart"></div>`;
}

export function OverviewPage() {
  const state = usePoll(loadOverview, []);
  const waiting = Loading({ state });
  if (waiting) return waiting;
  const { queues, throughput, workers } = state.data;
  const leader = workers.find((w) => w.leader || w.isLeader);
  return html`<section>
    <h1>Overview</h1>
    <h2>Queues</h2>
    <${ErrorBox} error=${state.data.statsError} />
    <table data-testid="overview-queues">
      <thead><tr><th>Queue</th>${STATES.map((s) => html`<th class="num">${s}</th>`)}<th class="num">Done / min</th><th class="num">Failed / min</th><th>Status</th></tr></thead>
      <tbody>
        ${queues.map(
          (q) => html`<tr>
            <td><a href=${`#/jobs?queue=${encodeURIComponent(q.name)}`}>${q.name}</a></td>
            ${STATES.map((s) => html`<td class="num"><a href=${`#/jobs?queue=${encodeURIComponent(q.name)}&state=${s}`}>${q.counts?.[s] ?? 0}</a></td>`)}
            <td class="num">${q.completedLastMinute}</td>
            <td class="num">${q.failedLastMinute}</td>
            <td>${q.paused ? html`<span class="badge state-failed">paused</span>` : 'active'}</td>
          </tr>`,
        )}
        ${queues.length === 0 ? html`<tr><td colspan="9" class="muted">No queues yet</td></tr>` : null}
      </tbody>
    </table>
    <h2>Throughput, last hour</h2>
    <${ThroughputChart} points=${throughput} />
    <h2>Workers</h2>
    <${ErrorBox} error=${state.data.workersError} />
    <p>Leader: ${leader ? html`<code>${leader.id}</code> (${leader.host ?? ''} pid ${leader.pid ?? '?'})` : html`<span class="muted">none known</span>`}</p>
    <table data-testid="workers">
      <thead><tr><th>Id</th><th>Host</th><th class="num">Pid</th><th>Queues</th><th class="num">Running</th><th class="num">Concurrency</th><th>Started</th><th>Last seen</th></tr></thead>
      <tbody>
        ${workers.map(
          (w) => html`<tr>
            <td><code>${w.id}</code>${w.leader || w.isLeader ? html` <span class="badge">leader</span>` : null}</td>
            <td>${w.host ?? '—'}</td>
            <td class="num">${w.pid ?? '—'}</td>
            <td>${Array.isArray(w.queues) ? w.queues.join(', ') : 'all'}</td>
            <td class="num">${w.running ?? 0}</td>
            <td class="num">${w.concurrency ?? '—'}</td>
            <td>${ago(w.startedAt)}</td>
            <td>${ago(w.lastSeenAt ?? w.lastSeen)}</td>
          </tr>`,
        )}
        ${workers.length === 0 ? html`<tr><td colspan="8" class="muted">No live workers</td></tr>` : null}
      </tbody>
    </table>
  </section>`;
}
