// IPv4/IPv6 addresses for `cidrMatch` and `ip` field comparisons. Addresses are 16 bytes; IPv4
// is stored IPv4-mapped (::ffff:a.b.c.d), as Elasticsearch's ip type does.

// Rules compare the same few addresses again and again: every `cidrMatch(destination.ip, …)` and
// `destination.ip == "…"` of every rule an event reaches parses its address, and a comparison on an
// ip field parses the constant too. A bounded memo turns the repeats into one hash lookup (V8 keeps
// a string's hash, so the constant and the event's own string are hashed once), without the
// split, regular expressions and arrays of parsing. Parsed addresses are shared: callers only read them.
const memo = new Map<string, Uint8Array | null>();
const MEMO_MAX = 4096;
/**
 * Longer strings are parsed without being remembered: the memo holds its keys alive across
 * events, and the longest address text (IPv6 with an IPv4 tail, 45 characters) is far shorter,
 * so a field of hostile megabyte strings cannot make it hold gigabytes.
 */
const MEMO_KEY_MAX = 64;

/** The 16 bytes of an address (IPv4 mapped), or null; the array is shared and must not be modified. */
export function parseIp(s: string): Uint8Array | null {
  if (s.length > MEMO_KEY_MAX) return parseIpText(s);
  let ip = memo.get(s);
  if (ip === undefined) {
    ip = parseIpText(s);
    if (memo.size >= MEMO_MAX) memo.clear();
    memo.set(s, ip);
  }
  return ip;
}

function parseIpText(s: string): Uint8Array | null {
  const text = s.trim();
  if (text.includes(':')) return parseV6(text);
  const v4 = parseV4(text);
  if (!v4) return null;
  const out = new Uint8Array(16);
  out[10] = 0xff;
  out[11] = 0xff;
  out.set(v4, 12);
  return out;
}

function parseV4(s: string): Uint8Array | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out[i] = n;
  }
  return out;
}

function parseV6(s: string): Uint8Array | null {
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  let tail: Uint8Array | null = null;
  const lastColon = s.lastIndexOf(':');
  if (s.slice(lastColon + 1).includes('.')) {
    tail = parseV4(s.slice(lastColon + 1));
    if (!tail) return null;
    s = s.slice(0, lastColon + 1) + '0:0';
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(':') : [];
  const rest = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const groups = halves.length === 2 ? 8 - head.length - rest.length : 0;
  if (halves.length === 1 && head.length !== 8) return null;
  if (groups < 0) return null;
  const all = [...head, ...Array<string>(groups).fill('0'), ...rest];
  if (all.length !== 8) return null;
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const g = all[i]!;
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    const n = parseInt(g, 16);
    out[i * 2] = n >> 8;
    out[i * 2 + 1] = n & 0xff;
  }
  if (tail) out.set(tail, 12);
  return out;
}

export function compareIps(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

export interface Cidr {
  base: Uint8Array;
  prefix: number;
}

/** Parses `a.b.c.d/n`, `x::/n` or a bare address (a /32 or /128 block). */
export function parseCidr(s: string): Cidr | null {
  const slash = s.indexOf('/');
  const base = parseIp(slash < 0 ? s : s.slice(0, slash));
  if (!base) return null;
  const isV4 = !s.slice(0, slash < 0 ? undefined : slash).includes(':');
  let prefix = isV4 ? 32 : 128;
  if (slash >= 0) {
    const p = s.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p)) return null;
    prefix = Number(p);
    if (prefix > (isV4 ? 32 : 128)) return null;
  }
  return { base, prefix: isV4 ? prefix + 96 : prefix };
}

export function inCidr(ip: Uint8Array, cidr: Cidr): boolean {
  let bits = cidr.prefix;
  for (let i = 0; i < 16 && bits > 0; i++) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((ip[i]! & mask) !== (cidr.base[i]! & mask)) return false;
    bits -= 8;
  }
  return true;
}
