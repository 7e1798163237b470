// Content-derived document ids (a bulk item without `_id`), shared by the store's writer thread
// and the cluster's JetStream sink so that both name a document alike.
import { hash } from 'node:crypto';

/**
 * An id derived from the document: 8 characters of its @timestamp (milliseconds, in an alphabet
 * that sorts as the numbers do) and 12 of the SHA-256 of its bytes, 20 in all as Elasticsearch's
 * generated ids. The same document sent again gets the same id, so a shipper's retry is stored
 * once; the time prefix keeps the id index growing at its end (documents arrive roughly in time
 * order), as Elasticsearch's time-based ids do, instead of touching random index pages.
 */
export function autoId(ts: number | null, doc: Uint8Array): string {
  let t = ts === null || !(ts > 0) ? 0 : Math.min(Math.floor(ts), 2 ** 48 - 1);
  let prefix = '';
  for (let k = 0; k < 8; k++) {
    prefix = SORTABLE[t % 64]! + prefix;
    t = Math.floor(t / 64);
  }
  return prefix + hash('sha256', doc, 'base64url').slice(0, 12);
}

/** 64 characters in ASCII order. */
const SORTABLE = '-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz';
