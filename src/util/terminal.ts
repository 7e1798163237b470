// Text from events, rules and file names reaches the user's terminal (tables, summaries, skipped
// item reports). A value holding ESC [ … or an OSC sequence could move the cursor, rewrite lines,
// retitle the window or hide text; bidirectional overrides can make a table show something else
// than the data holds. Such characters are shown escaped, never sent raw.

/**
 * C0 controls (newline and tab included: a table cell is one line), DEL, C1 controls (0x9B is a
 * one-byte CSI for terminals that honour 8-bit controls), the line and paragraph separators, and
 * the bidirectional embeddings, overrides and isolates.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex
const UNSAFE_TEST = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/** The character as `\uXXXX` (JSON's spelling), visible and inert. */
function escapeChar(c: string): string {
  return '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0');
}

/** `s` with every terminal control character escaped as `\uXXXX`; unchanged when it has none. */
export function escapeControl(s: string): string {
  return UNSAFE_TEST.test(s) ? s.replace(UNSAFE, escapeChar) : s;
}

// JSON.stringify already escapes C0 controls; these are what it leaves raw.
const JSON_UNSAFE = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const JSON_UNSAFE_TEST = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/**
 * A JSON text with the controls JSON.stringify leaves raw written as `\uXXXX` escapes: the same
 * JSON value, safe to print on a terminal.
 */
export function escapeJsonControls(json: string): string {
  return JSON_UNSAFE_TEST.test(json) ? json.replace(JSON_UNSAFE, escapeChar) : json;
}

/** Each line of a multi-line message escaped on its own (the newlines between lines are kept). */
export function escapeLines(text: string): string {
  return UNSAFE_TEST.test(text) ? text.split('\n').map(escapeControl).join('\n') : text;
}

// eslint-disable-next-line no-control-regex
const TEXT_UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex
const TEXT_UNSAFE_TEST = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/**
 * Multi-line text or JSON for a terminal: every control character but newline and tab escaped as
 * `\uXXXX`. A JSON text stays the same JSON value (raw controls can only sit inside its strings,
 * where `\uXXXX` is their escape).
 */
export function escapeText(text: string): string {
  return TEXT_UNSAFE_TEST.test(text) ? text.replace(TEXT_UNSAFE, escapeChar) : text;
}
