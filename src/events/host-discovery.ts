// The discovery pass behind host.ip (see windows/host-ip.ts): reads the input files once, maps
// their Windows events as the real read will, and collects the addresses each machine reveals as
// its own. It runs before the real read because add_host_metadata gives every event of a machine
// the same host.ip — the first event as well as the last — and because rules, filters and
// exceptions are evaluated while the files are read (on worker threads too), so every event must
// carry its host.ip from the start.
//
// Files only: stdin cannot be read twice (its events still get the addresses the files revealed).
// The pass reports nothing: the real read reports every damaged item and unreadable file.
//
// NDJSON lines are decided from their bytes first (events/prefilter.ts): only a Sysmon connection
// (direction `egress`) or a Filtering Platform event (5156–5159) can reveal an address, so an ECS
// line holding none of those texts (REVEALING_TEXT) is not parsed.
// Windows documents mapped on read (raw Winlogbeat, NXLog, RawWindowsEvent JSON) and lines with
// escapes are always parsed by that filter. On Agent data with every rule (some name host.ip),
// the pass otherwise parsed the whole input once more before the real read.
//
// The book is given only to documents mapped to ECS on read (EVTX, Windows XML, NXLog, raw
// Winlogbeat, RawWindowsEvent JSON): ECS documents keep the host.ip their shipper wrote, or none.
// So the pass first looks whether the files hold any such document, parsing only the lines that
// could be one (a line filter without needles), and stops at the first; files of ECS documents
// alone then cost one search of their bytes instead of parsing every line that can reveal an
// address (about half the pass's CPU on Agent data). EVTX files and stdin (whose documents get
// the addresses the files reveal) always need the book. The price: when the first such document
// comes late, the files up to it are searched twice.
import { mappedOnRead, openInput } from './inputs.js';
import { STUB_SOURCE, type InputFile } from './sources.js';
import { HostAddressBook, mayRevealHostAddress, REVEALING_TEXT } from './windows/host-ip.js';
import type { WindowsProfile } from './windows/index.js';

/** When the pass runs: `auto` (the command decides: hunt and query when host.ip is used), `on`, `off`. */
export type HostIpMode = 'auto' | 'on' | 'off';

const HOST_IP = /(^|[^\w.@`])host\.ip(?![\w.])|`host\.ip`/;

/** True when a query (or a filter or exception as JSON) names the field host.ip. */
export function mentionsHostIp(text: string): boolean {
  // Every match holds the plain text `host.ip`: a string search rules out nearly every query at
  // once (the expression tries each position; a hunt asks about a megabyte of queries at start-up).
  return text.includes('host.ip') && HOST_IP.test(text);
}

export interface DiscoveryOptions {
  profile?: WindowsProfile;
  namespace?: string;
}

export interface DiscoveryResult {
  book: HostAddressBook;
  /** Events that revealed an address (including repeats of known ones). */
  revealing: number;
  /** Files read by the pass (stdin is not). */
  files: number;
  /** Documents parsed and examined; JSON lines decided from their bytes are not counted. */
  examined: number;
  /** False when no input can receive an address (no document mapped on read): nothing was collected. */
  needed: boolean;
}

/** Whether some input holds a document mapped to ECS on read, the only kind the book is given to. */
async function anyMappedOnRead(files: readonly InputFile[], opts: DiscoveryOptions): Promise<boolean> {
  const quiet = () => undefined;
  for (const f of files) {
    if (f.path === '-' || f.kind === 'evtx') return true;
    const input = openInput(f, { profile: opts.profile, namespace: opts.namespace, onSkip: quiet, onWarning: quiet, needles: [] });
    try {
      if (!input.shape) return true;
      for await (const _batch of input.batches()) if (mappedOnRead(input.shape()) > 0) return true;
    } catch {
      // Unreadable or not what its name says: the real read reports it.
    }
  }
  return false;
}

export async function discoverHostAddresses(files: readonly InputFile[], opts: DiscoveryOptions = {}): Promise<DiscoveryResult> {
  const book = new HostAddressBook();
  if (!(await anyMappedOnRead(files, opts))) {
    return { book, revealing: 0, files: files.filter((f) => f.path !== '-').length, examined: 0, needed: false };
  }
  let revealing = 0;
  let read = 0;
  let examined = 0;
  const quiet = () => undefined;
  for (const f of files) {
    if (f.path === '-') continue;
    read++;
    try {
      if (f.kind === 'evtx') {
        // Loaded here: NDJSON input needs neither the EVTX reader nor the mapping.
        const { readEvtx } = await import('../evtx/index.js');
        const { mapRawWindowsEvent } = await import('./windows/index.js');
        // Only the few event ids that can reveal an address are mapped (the mapping is a good
        // part of an EVTX record's cost).
        for await (const record of readEvtx(f.path, { onWarning: quiet })) {
          examined++;
          const raw = record.toRaw();
          if (!mayRevealHostAddress(String(raw.System.EventID).trim())) continue;
          if (book.observe(mapRawWindowsEvent(raw, { profile: opts.profile, namespace: opts.namespace }).source)) revealing++;
        }
        continue;
      }
      const input = openInput(f, { profile: opts.profile, namespace: opts.namespace, onSkip: quiet, onWarning: quiet, needles: REVEALING_TEXT });
      for await (const batch of input.batches()) {
        for (const ev of batch) {
          if (ev.source === STUB_SOURCE) continue;
          examined++;
          if (book.observe(ev.source)) revealing++;
        }
      }
    } catch {
      // Unreadable or not what its name says: the real read reports it.
    }
  }
  return { book, revealing, files: read, examined, needed: true };
}
