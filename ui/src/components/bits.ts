// Small pieces the pages share: badges, messages, a JSON viewer, a spinner.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { href, linkClick } from '../router.js';
import { fmtCount, visible } from '../format.js';
import type { Severity, WorkflowStatus } from '../types.js';

export function Link({ to, children, cls, title, label }: { to: string; children: ComponentChildren; cls?: string; title?: string; label?: string }) {
  return html`<a href=${href(to)} class=${cls} title=${title} aria-label=${label} onClick=${linkClick}>${children}</a>`;
}

export function SeverityBadge({ severity }: { severity: Severity | string }) {
  return html`<span class=${`sev sev-${severity}`}><span class="dot" aria-hidden="true"></span>${severity}</span>`;
}

export function StatusBadge({ status }: { status: WorkflowStatus | string }) {
  return html`<span class=${`status status-${status}`}>${status}</span>`;
}

export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  return html`<div class="error" role="alert">${error instanceof Error ? error.message : String(error)}</div>`;
}

export function Spinner({ label = 'Loading' }: { label?: string }) {
  return html`<div class="spinner" role="status" aria-live="polite"><span class="spin" aria-hidden="true"></span>${label}…</div>`;
}

/** Pretty-printed JSON as text (never parsed as markup), with long strings kept whole and wrapped. */
export function JsonView({ value }: { value: unknown }) {
  return html`<pre class="json" tabindex="0">${JSON.stringify(value, null, 2)}</pre>`;
}

export function Empty({ children }: { children: ComponentChildren }) {
  return html`<div class="empty">${children}</div>`;
}

/** Values longer than this show their start and a button for the rest (an encoded command line can run to megabytes). */
export const LONG_VALUE = 400;

/** A field value as text, control characters made visible, cut at LONG_VALUE characters until asked for in full. */
export function LongValue({ value }: { value: string }) {
  const [all, setAll] = useState(false);
  if (value.length <= LONG_VALUE) return html`${visible(value)}`;
  return html`<span class="long-value">${visible(all ? value : value.slice(0, LONG_VALUE))}${all ? '' : '…'}</span>
    <button class="btn small more" aria-expanded=${all} onClick=${() => setAll(!all)}>${all ? 'Show less' : `Show all ${fmtCount(value.length)} characters`}</button>`;
}
