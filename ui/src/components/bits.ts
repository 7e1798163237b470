// Small pieces the pages share: badges, messages, a JSON viewer, a spinner.
import type { ComponentChildren } from 'preact';
import { html } from '../html.js';
import { href, linkClick } from '../router.js';
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
