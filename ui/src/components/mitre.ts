// A rule's MITRE ATT&CK mapping (Kibana's `threat`): tactic → technique → sub-technique, each
// linked to its page on attack.mitre.org (the rule's own reference when it is an http(s) URL).
import { html } from '../html.js';
import type { Threat, ThreatEntry } from '../types.js';
import { Empty } from './bits.js';

function url(e: ThreatEntry, kind: 'tactics' | 'techniques'): string | null {
  if (e.reference && /^https?:\/\//i.test(e.reference)) return e.reference;
  if (!/^(TA|T)\d{4}(\.\d{3})?$/.test(e.id)) return null;
  return `https://attack.mitre.org/${kind}/${e.id.replace('.', '/')}/`;
}

function Entry({ e, kind }: { e: ThreatEntry; kind: 'tactics' | 'techniques' }) {
  const u = url(e, kind);
  const label = html`<span class="mitre-id">${e.id}</span> ${e.name}`;
  return u ? html`<a href=${u} target="_blank" rel="noopener noreferrer">${label}</a>` : html`<span>${label}</span>`;
}

export function Mitre({ threat }: { threat: Threat[] }) {
  if (!Array.isArray(threat) || threat.length === 0) return html`<${Empty}>No MITRE ATT&CK mapping.</${Empty}>`;
  return html`<ul class="mitre">
    ${threat.map(
      (t) => html`<li class="tactic">
        <span class="kind">Tactic</span> <${Entry} e=${t.tactic} kind="tactics" />
        ${t.technique && t.technique.length > 0
          ? html`<ul>
              ${t.technique.map(
                (tech) => html`<li class="technique">
                  <span class="kind">Technique</span> <${Entry} e=${tech} kind="techniques" />
                  ${tech.subtechnique && tech.subtechnique.length > 0
                    ? html`<ul>${tech.subtechnique.map((sub) => html`<li class="subtechnique"><span class="kind">Sub-technique</span> <${Entry} e=${sub} kind="techniques" /></li>`)}</ul>`
                    : null}
                </li>`,
              )}
            </ul>`
          : null}
      </li>`,
    )}
  </ul>`;
}
