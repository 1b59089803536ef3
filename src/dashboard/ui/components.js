import htm from 'htm';
import { h } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { config } from './api.js';

export const html = htm.bind(h);

/** How often pages refresh while visible. */
export const REFRESH_MS = 2000;

/**
 * Loads `load()` now, again every REFRESH_MS while the tab is visible, and whenever `deps`
 * change. Returns { data, error, reload }.
 */
export function usePoll(load, deps) {
  const [state, setState] = useState({ data: undefined, error: undefined });
  const latest = useRef(load);
  latest.current = load;
  const generation = useRef(0);
  const reload = useCallback(async () => {
    const mine = ++generation.current;
    try {
      const data = await latest.current();
      if (mine === generation.current) setState({ data, error: undefined });
    } catch (error) {
      if (mine === generation.current) setState((s) => ({ data: s.data, error }));
    }
  }, []);
  useEffect(() => {
    setState({ data: undefined, error: undefined });
    reload();
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') reload();
    }, REFRESH_MS);
    return () => {
      generation.current++;
      clearInterval(timer);
    };
  }, deps);
  return { ...state, reload };
}

export function formatTime(value) {
  if (!value) return '—';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
}

export function ago(value) {
  if (!value) return '—';
  const seconds = Math.round((Date.now() - new Date(value).getTime()) / 1000);
  const abs = Math.abs(seconds);
  const text = abs < 60 ? `${abs}s` : abs < 3600 ? `${Math.round(abs / 60)}m` : `${Math.round(abs / 3600)}h`;
  return seconds >= 0 ? `${text} ago` : `in ${text}`;
}

/** Any JSON value as indented text: a text node, never HTML. */
export function Json({ value }) {
  if (value === undefined || value === null) return html`<span class="muted">none</span>`;
  return html`<pre class="json">${JSON.stringify(value, null, 2)}</pre>`;
}

export function StateBadge({ state }) {
  return html`<span class="badge state-${state}">${state}</span>`;
}

export function ErrorBox({ error }) {
  if (!error) return null;
  return html`<div class="error" role="alert">${error.message}${error.field ? ` (${error.field})` : ''}</div>`;
}

/** A button that runs an async action, shows progress, and reports failure. Hidden when read-only. */
export function ActionButton({ label, action, confirm: question, kind = '', testId }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState();
  if (config.readOnly) return null;
  const run = async () => {
    if (question && !window.confirm(question)) return;
    setBusy(true);
    setError(undefined);
    try {
      await action();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return html`<span class="action">
    <button class=${kind} disabled=${busy} onClick=${run} data-testid=${testId}>${busy ? '…' : label}</button>
    ${error ? html`<span class="error inline">${error.message}</span>` : null}
  </span>`;
}

export function Loading({ state }) {
  if (state.error && state.data === undefined) return html`<${ErrorBox} error=${state.error} />`;
  if (state.data === undefined) return html`<p class="muted">Loading…</p>`;
  return null;
}

export const STATES = ['pending', 'running', 'completed', 'failed', 'cancelled'];
