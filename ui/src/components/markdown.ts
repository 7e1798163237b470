// A rule's investigation guide (its `note`, Markdown written by whoever wrote the rule) rendered
// safely: raw HTML in the Markdown is shown as text, never parsed; the HTML marked produces then
// goes through DOMPurify with a short allow-list (no script, style, forms, frames, images or
// event handlers); links may only be http(s) or mailto and open in a new tab without an opener.
import DOMPurify from 'dompurify';
import { Marked } from 'marked';
import { html } from '../html.js';

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const marked = new Marked({
  gfm: true,
  async: false,
  renderer: {
    // Raw HTML blocks and inline tags: shown as the text they are.
    html: ({ text }) => escapeHtml(text),
    // Images would load from anywhere: a link to them instead.
    image: ({ href, text }) => `<a href="${escapeHtml(href)}">${escapeHtml(text || href)}</a>`,
  },
});

const purify = DOMPurify(window);
purify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A') {
    const href = node.getAttribute('href') ?? '';
    if (!/^(https?:|mailto:)/i.test(href)) node.removeAttribute('href');
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer');
  }
});

const ALLOWED_TAGS = ['a', 'b', 'blockquote', 'br', 'code', 'del', 'em', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'hr', 'i', 'li', 'ol', 'p', 'pre', 's', 'strong', 'table', 'tbody', 'td', 'th', 'thead', 'tr', 'ul'];

/** Sanitized HTML for a Markdown text. */
export function renderMarkdown(md: string): string {
  const raw = marked.parse(md) as string;
  return purify.sanitize(raw, { ALLOWED_TAGS, ALLOWED_ATTR: ['href', 'title', 'align'], ALLOW_DATA_ATTR: false });
}

export function Markdown({ source }: { source: string }) {
  return html`<div class="markdown" dangerouslySetInnerHTML=${{ __html: renderMarkdown(source) }}></div>`;
}
