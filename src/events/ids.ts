// Document ids. An event keeps the `_id` its input gave it (an Elasticsearch hit). Any other
// event gets an id from stable facts about the event itself: its content and its position in
// its input —
//
//   <first 16 hex digits of sha256(the event as JSON)>:<line>        NDJSON / JSON
//   <…>:<line>.<n>     the n-th further event starting on the same line (a one-line JSON array)
//   <…>:r<record id>   EVTX records
//
// so the id never depends on how the path was typed, the working directory, the file's name, or
// compression (`x.ndjson` and `x.ndjson.gz` give the same ids), and hunting the same data twice
// gives the same alert ids. Two identical events at different positions stay two documents, as
// they would be in Elasticsearch. The hash is computed when an id is needed (for an alert or an
// output line), not for every event read: readers set `derivedId` and a placeholder id
// `<path prefix>:<position>` used in messages only.
import { createHash } from 'node:crypto';
import type { EventDoc } from './types.js';

const cache = new WeakMap<EventDoc, string>();

function json(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
}

/** The source as JSON without the host.ip eqlite added (see EventDoc.derivedHostIp). */
function jsonWithoutHostIp(source: Record<string, unknown>): string {
  const host = source.host;
  return JSON.stringify(source, function (this: unknown, k, x) {
    if (k === 'ip' && this === host) return undefined;
    return typeof x === 'bigint' ? x.toString() : x;
  });
}

/** The `_id` of an event: its own, or one derived from its content and position. */
export function documentId(ev: EventDoc): string {
  if (!ev.derivedId) return ev.id;
  let id = cache.get(ev);
  if (id === undefined) {
    const colon = ev.id.indexOf(':');
    const position = colon >= 0 ? ev.id.slice(colon + 1) : ev.id;
    const text = ev.derivedHostIp ? jsonWithoutHostIp(ev.source) : json(ev.source);
    id = `${createHash('sha256').update(text).digest('hex').slice(0, 16)}:${position}`;
    cache.set(ev, id);
  }
  return id;
}
