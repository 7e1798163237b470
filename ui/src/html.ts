// htm bound to Preact's h(): tagged-template markup without a JSX compile step. Interpolated values
// are always set as text or properties, never parsed as HTML (the one exception, rendered
// Markdown, goes through the sanitizer in markdown.ts).
import { h } from 'preact';
import htm from 'htm';

export const html = htm.bind(h);
