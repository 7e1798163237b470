// Event search in cluster mode: `_eql/search` and `_count` on event indices read the cluster's
// event stream (the events live there, not in a node's events.sqlite). A search reads every
// partition from the start of the stream (what retention kept) through the last event stored when
// it began, each event once — a partition copy made for a rule keyed by another field is skipped,
// an event stored twice (a retry across a rule change) is read once — and only the events of the
// indices asked for are parsed. Bounded as on a single node: a search that would read more than
// `limit` events of those indices is refused with a hint to narrow it.
import type { EventDoc } from '../events/types.js';
import { badRequest, EsError } from '../serve/http.js';
import { setIngested } from '../serve/store/event-store.js';
import { decodeEvent, lastSequence, scanStream } from './jetstream-log.js';
import type { ClusterResources } from './nats.js';

/**
 * Reads the stored events of the indices `match` accepts, each once, in stream order. Errors are
 * Elasticsearch-shaped: 400 beyond `limit`, 503 when the stream cannot be read.
 */
export async function scanClusterEvents(
  res: ClusterResources,
  match: (index: string) => boolean,
  limit: number,
  onEvent: (ev: EventDoc & { seq: number }) => void,
  opts: { parse: boolean } = { parse: true },
): Promise<void> {
  try {
    await scan(res, match, limit, onEvent, opts);
  } catch (e) {
    if (e instanceof EsError) throw e;
    throw new EsError(503, 'search_phase_execution_exception', `the cluster's event stream cannot be read: ${(e as Error).message}`);
  }
}

async function scan(
  res: ClusterResources,
  match: (index: string) => boolean,
  limit: number,
  onEvent: (ev: EventDoc & { seq: number }) => void,
  opts: { parse: boolean } = { parse: true },
): Promise<void> {
  const through = await lastSequence(res);
  if (through === 0) return;
  const seen = new Set<string>();
  let tooMany = false;
  await scanStream(res, 0, through, (m) => {
    if (m.subject.endsWith('.k')) return;
    const d = decodeEvent(m.data);
    if (!match(d.index)) return;
    const key = `${d.index}\u0000${d.id}`;
    if (seen.has(key)) return;
    seen.add(key);
    if (seen.size > limit) {
      tooMany = true;
      return false;
    }
    let source: Record<string, unknown> = {};
    if (opts.parse) {
      try {
        source = JSON.parse(d.src) as Record<string, unknown>;
      } catch {
        return;
      }
      setIngested(source, d.ingested);
    }
    onEvent({ source, index: d.index, id: d.id, seq: m.seq });
  });
  if (tooMany) throw badRequest(`the search would read more than ${limit} events; narrow the index pattern`, 'illegal_argument_exception');
}
