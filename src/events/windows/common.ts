// Small pure helpers shared by the Sysmon, Security and PowerShell mappings. They reproduce the
// exact behaviour of the ingest processors Elastic uses (rename never overwrites, convert to long
// fails silently, split quirks), because rules are written against what those produce.
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { hasOwn, own, ownChild, setOwn } from '../../util/own.js';

export type Doc = Record<string, unknown>;

export const SYSMON_PROVIDER = 'Microsoft-Windows-Sysmon';
export const SECURITY_PROVIDER = 'Microsoft-Windows-Security-Auditing';

/**
 * The object at `key` of `parent`, created when missing (or when a scalar is in the way). Keys may
 * come from the input (dotted field names), so only own properties are read and written.
 */
export const child: (parent: Doc, key: string) => Doc = ownChild;

/** Object-valued member or undefined. */
export function obj(v: unknown): Doc | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Doc) : undefined;
}

/** String member or undefined. */
export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** Appends to a keyword list without duplicates (ingest `append` with allow_duplicates: false). */
export function appendUnique(parent: Doc, key: string, value: unknown): void {
  if (value === undefined || value === null || value === '') return;
  const cur = own(parent, key);
  if (Array.isArray(cur)) {
    if (!cur.includes(value)) cur.push(value);
  } else if (cur === undefined) {
    setOwn(parent, key, [value]);
  } else if (cur !== value) {
    setOwn(parent, key, [cur, value]);
  }
}

/**
 * Ingest `rename` with ignore_failure: moves `src` of `from` to `key` of `to` unless the target
 * already exists (ES refuses to overwrite, and the source then stays where it was).
 */
export function rename(from: Doc, src: string, to: Doc, key: string): boolean {
  const v = own(from, src);
  if (v === undefined || v === null || v === '') return false;
  if (own(to, key) !== undefined) return false;
  setOwn(to, key, v);
  delete from[src];
  return true;
}

/**
 * Drops the beat-stage fields a pipeline has consumed (winlog.time_created, winlog.level) by
 * rebuilding doc.winlog without them, keys in the same order. Deleting a property that is not
 * the last one added turns the object into a dictionary: slow to make, and slower to read for
 * every rule afterwards.
 */
export function dropStageFields(doc: Doc, winlog: Doc): void {
  if (!hasOwn(winlog, 'time_created') && !hasOwn(winlog, 'level')) return;
  const out: Doc = {};
  for (const k of Object.keys(winlog)) if (k !== 'time_created' && k !== 'level') setOwn(out, k, winlog[k]);
  doc.winlog = out;
}

/** Deletes the keys of `ed` whose value is null, '' or '-' (Object.keys: no [key, value] pair per key). */
export function dropEmpty(ed: Doc, dash: boolean): void {
  for (const k of Object.keys(ed)) {
    const v = ed[k];
    if (v === null || v === '' || (dash && v === '-')) delete ed[k];
  }
}

/** Java `Long.parseLong` of a decimal string (what `convert type: long` does); undefined on failure. */
export function toLong(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  if (!/^[+-]?\d+$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Java `Long.decode`: decimal, `0x`/`#` hex or leading-zero octal; used on Security's hex PIDs. */
export function decodeLong(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const m = /^([+-]?)(0[xX]|#)([0-9a-fA-F]+)$/.exec(v.trim());
  let n: number;
  if (m) {
    n = parseInt(m[3]!, 16);
    if (m[1] === '-') n = -n;
  } else {
    const d = /^([+-]?)(0[0-7]+|\d+)$/.exec(v.trim());
    if (!d) return undefined;
    n = d[2]!.length > 1 && d[2]!.startsWith('0') ? parseInt(d[2]!, 8) : parseInt(d[2]!, 10);
    if (d[1] === '-') n = -n;
  }
  return Number.isSafeInteger(n) ? n : undefined;
}

/** `convert type: boolean`: "true"/"false" in any case; anything else fails (undefined). */
export function toBool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (typeof v !== 'string') return undefined;
  const s = v.toLowerCase();
  return s === 'true' ? true : s === 'false' ? false : undefined;
}

/** `convert type: ip`: the address when valid (IPv6 zone ids allowed), else undefined. */
export function toIp(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  const bare = s.includes('%') ? s.slice(0, s.indexOf('%')) : s;
  return isIP(bare) !== 0 ? s : undefined;
}

/** The text after the last backslash, or undefined when there is none (Elastic's getProcessName). */
export function baseName(path: string): string | undefined {
  const i = path.lastIndexOf('\\');
  if (i < 0) return undefined;
  const name = path.slice(i + 1);
  return name === '' ? undefined : name;
}

/**
 * Elastic's "Adds file information" script: name and directory around the last backslash, and
 * extension after the last dot of the whole path (even one in a directory name — a pipeline quirk
 * kept so that values match Elastic's). Nothing is set for a path without a backslash.
 */
export function setFileParts(file: Doc, path: string): void {
  if (path.length <= 1) return;
  const idx = path.lastIndexOf('\\');
  if (idx < 0) return;
  file.name = path.slice(idx + 1);
  file.directory = path.slice(0, idx);
  const ext = path.lastIndexOf('.');
  if (ext > -1) file.extension = path.slice(ext + 1);
}

/**
 * Windows CommandLineToArgvW-style split, as Go's os/exec (and Elastic's Sysmon pipeline) does it:
 * spaces and tabs separate arguments outside quotes; 2n backslashes before a quote give n
 * backslashes and toggle quoting, 2n+1 give n and a literal quote; `""` inside quotes is a
 * literal quote (the "prior to 2008" rule); other backslashes are literal.
 */
export function splitCommandLineWindows(cmd: string): string[] {
  const args: string[] = [];
  let i = 0;
  const n = cmd.length;
  while (i < n) {
    const c0 = cmd[i];
    if (c0 === ' ' || c0 === '\t') {
      i++;
      continue;
    }
    let arg = '';
    let inQuote = false;
    let slashes = 0;
    for (; i < n; i++) {
      const c = cmd[i]!;
      if (c === ' ' || c === '\t') {
        if (!inQuote) {
          i++;
          break;
        }
      } else if (c === '"') {
        arg += '\\'.repeat(slashes >> 1);
        if (slashes % 2 === 0) {
          if (inQuote && i + 1 < n && cmd[i + 1] === '"') {
            arg += '"';
            i++;
          }
          inQuote = !inQuote;
        } else {
          arg += '"';
        }
        slashes = 0;
        continue;
      } else if (c === '\\') {
        slashes++;
        continue;
      }
      arg += '\\'.repeat(slashes);
      slashes = 0;
      arg += c;
    }
    arg += '\\'.repeat(slashes);
    args.push(arg);
  }
  return args;
}

/**
 * The Security pipeline's 4688 split: a quote toggles quoting (quotes are kept in the output),
 * every whitespace character outside quotes ends an argument — so runs of spaces give empty
 * arguments, exactly as Elastic stores them.
 */
export function splitCommandLineSecurity(cmd: string): string[] {
  const out: string[] = [];
  let start = 0;
  let inQuote = false;
  for (let i = 0; i < cmd.length; i++) {
    const c = cmd[i]!;
    if (c === '"') inQuote = !inQuote;
    if (/\s/.test(c) && !inQuote) {
      out.push(cmd.slice(start, i));
      start = i + 1;
    }
    if (i === cmd.length - 1) out.push(cmd.slice(start, i + 1));
  }
  return out;
}

/** `DOMAIN\user` → [domain, name] only when the split gives exactly two parts (pipeline rule). */
export function splitUser(v: string): [string, string] | undefined {
  // Java's String.split drops trailing empty strings, so "DOMAIN\" is one part.
  const parts = v.split('\\');
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts.length === 2 ? [parts[0]!, parts[1]!] : undefined;
}

/**
 * The machine a Computer name denotes, as Elastic Agent names its host (`host.name`: the host name
 * without its DNS domain, lower-cased): `WORKSTATION6.theshire.local` and `WORKSTATION6` are one
 * machine, so channels that write either form join on host.id. An IP address is kept whole.
 * Machines with the same short name in different DNS domains are therefore one host.
 */
export function hostNameOf(computerName: string): string {
  const s = computerName.trim().toLowerCase();
  if (isIP(s) !== 0 || s.startsWith('[')) return s;
  const dot = s.indexOf('.');
  return dot > 0 ? s.slice(0, dot) : s;
}

// RFC 4122 DNS namespace: computer names are DNS host names.
const HOST_ID_NAMESPACE = Buffer.from('6ba7b8109dad11d180b400c04fd430c8', 'hex');
const hostIdCache = new Map<string, string>();

/**
 * Deterministic host.id for offline data: the RFC 4122 version-5 UUID (SHA-1, DNS namespace) of
 * the lower-cased computer name. Elastic's host.id is the collector's MachineGuid, which an
 * EVTX file does not carry; rules join on host.id and EQL never joins on null, so every event
 * needs one, and Sysmon and Security logs of one machine must agree on it.
 */
export function hostIdFor(computerName: string): string {
  const key = computerName.trim().toLowerCase();
  const hit = hostIdCache.get(key);
  if (hit !== undefined) return hit;
  const h = createHash('sha1').update(HOST_ID_NAMESPACE).update(key, 'utf8').digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  // A file holds few distinct hosts; the bound only protects against pathological inputs.
  if (hostIdCache.size > 4096) hostIdCache.clear();
  hostIdCache.set(key, id);
  return id;
}

/** Bytes of an IPv4 or IPv6 address (zone id ignored), or undefined. */
export function ipBytes(ip: string): Uint8Array | undefined {
  let s = ip.includes('%') ? ip.slice(0, ip.indexOf('%')) : ip;
  const kind = isIP(s);
  if (kind === 4) return Uint8Array.from(s.split('.').map(Number));
  if (kind !== 6) return undefined;
  // An embedded dotted quad (::ffff:1.2.3.4) becomes its two 16-bit groups.
  const lastColon = s.lastIndexOf(':');
  const last = s.slice(lastColon + 1);
  if (last.includes('.')) {
    const q = last.split('.').map(Number);
    s = s.slice(0, lastColon + 1) + ((q[0]! << 8) | q[1]!).toString(16) + ':' + ((q[2]! << 8) | q[3]!).toString(16);
  }
  const halves = s.split('::');
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length > 1 && halves[1] ? halves[1].split(':') : [];
  const groups = [...head, ...new Array<string>(8 - head.length - tail.length).fill('0'), ...tail];
  if (groups.length !== 8) return undefined;
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const g = parseInt(groups[i]!, 16);
    out[i * 2] = (g >> 8) & 0xff;
    out[i * 2 + 1] = g & 0xff;
  }
  return out;
}

const TRANSPORTS: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, 'ipv6-icmp': 58, sctp: 132 };

/**
 * Community ID v1 (seed 0) of a flow, as the ingest `community_id` processor computes it:
 * base64(SHA-1(seed, ordered endpoints, protocol, ports)) with prefix "1:". Endpoints are ordered
 * so both directions of a flow hash the same. ICMP type/code handling is out of scope (Sysmon
 * only reports TCP and UDP).
 */
export function communityId(
  srcIp: string,
  srcPort: number,
  dstIp: string,
  dstPort: number,
  transport: string,
): string | undefined {
  const proto = TRANSPORTS[transport.toLowerCase()];
  if (proto === undefined || proto === 1 || proto === 58) return undefined;
  let a = ipBytes(srcIp);
  let b = ipBytes(dstIp);
  if (!a || !b || a.length !== b.length) return undefined;
  let pa = srcPort;
  let pb = dstPort;
  const cmp = Buffer.compare(Buffer.from(a), Buffer.from(b));
  if (cmp > 0 || (cmp === 0 && pa > pb)) {
    [a, b] = [b, a];
    [pa, pb] = [pb, pa];
  }
  const buf = Buffer.alloc(2 + a.length * 2 + 2 + 4);
  let off = 0;
  buf.writeUInt16BE(0, off);
  off += 2;
  buf.set(a, off);
  off += a.length;
  buf.set(b, off);
  off += b.length;
  buf.writeUInt8(proto, off++);
  buf.writeUInt8(0, off++);
  buf.writeUInt16BE(pa, off);
  buf.writeUInt16BE(pb, off + 2);
  return '1:' + createHash('sha1').update(buf).digest('base64');
}
