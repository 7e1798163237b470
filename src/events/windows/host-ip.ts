// host.ip for Windows events read offline. Elastic Agent and Winlogbeat add `host.ip` with
// add_host_metadata on the collecting machine: every address of its non-loopback interfaces, on
// every event, in the text form Go prints (IPv6 compressed, IPv4-mapped addresses as dotted IPv4).
// An EVTX file, an XML export or an NXLog document carries none of it, and rules such as
// "Potential Machine Account Relay Attack via SMB" exclude local access with
// `not endswith(string(source.ip), string(host.ip))`, which holds for every event without host.ip.
//
// Some events do say which addresses are the machine's own: the local side of a connection the
// machine opened. HostAddressBook collects those per host.id (a discovery pass over the inputs,
// see src/events/host-discovery.ts) and the Windows mapping copies a host's addresses onto each
// of its events, so every event of the machine carries the same host.ip, as the agent's would.
import { isIP } from 'node:net';
import { createRequire } from 'node:module';
import type IpAddr from 'ipaddr.js';

// Loaded on first use: hunts over JSON never parse an address here.
const require = createRequire(import.meta.url);
let ipaddrModule: typeof IpAddr | undefined;
const ip = (): typeof IpAddr => (ipaddrModule ??= require('ipaddr.js') as typeof IpAddr);
import { obj, SECURITY_PROVIDER, str, SYSMON_PROVIDER, type Doc } from './common.js';

/** Addresses kept per host: a machine has a handful; this bounds pathological inputs. */
export const MAX_ADDRESSES_PER_HOST = 64;
/** Hosts kept (a bound on memory for inputs naming absurd numbers of machines). */
export const MAX_HOSTS = 65_536;

// Windows Filtering Platform audit (Security 5156 allowed / 5157 blocked connection): the
// "Source Address" is the local side in both directions, but an inbound datagram's local side can
// be a broadcast or multicast address, so only outbound connections are used. 5158/5159 (bind to
// a local port, allowed / blocked) name a local address by definition.
const WFP_CONNECTION = new Set(['5156', '5157']);
const WFP_BIND = new Set(['5158', '5159']);

/**
 * Text that every document revealedHostAddress can take an address from holds (when written
 * without escapes): a Sysmon connection's `egress` direction, or a Filtering Platform event code.
 * The discovery pass parses only the lines holding one of them.
 */
export const REVEALING_TEXT: readonly string[] = ['egress', ...WFP_CONNECTION, ...WFP_BIND];
/** %%14593 is the message-table id of "Outbound" (%%14592: "Inbound"). */
const OUTBOUND = new Set(['%%14593', 'outbound']);

/** Event ids that can reveal an address (revealedHostAddress decides): a cheap pre-check. */
export function mayRevealHostAddress(eventId: string): boolean {
  return eventId === '3' || WFP_CONNECTION.has(eventId) || WFP_BIND.has(eventId);
}

/**
 * The address as add_host_metadata would print it (Go's net.IP.String(): IPv6 in RFC 5952
 * compressed form, an IPv4-mapped IPv6 address as dotted IPv4, no zone), or undefined when it is
 * not an address of a host interface: not an IP, loopback (the agent skips loopback interfaces),
 * unspecified (0.0.0.0, ::), multicast or the limited broadcast address.
 */
export function hostAddress(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  let s = v.trim();
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (isIP(s) === 0) return undefined;
  const addr = ip().process(s);
  const range = addr.range();
  if (range === 'loopback' || range === 'unspecified' || range === 'multicast' || range === 'broadcast') return undefined;
  return addr.toString();
}

/**
 * The machine's own address that a mapped Windows event reveals, or undefined:
 * - Sysmon 3 (network connection) opened by the machine (`Initiated` true, network.direction
 *   egress): `source.ip`, the local side;
 * - Security 5156/5157 (Filtering Platform connection) outbound: `SourceAddress`;
 * - Security 5158/5159 (Filtering Platform bind): `SourceAddress`.
 * Inbound Sysmon connections are not used: their sides are not documented to be local/remote.
 */
export function revealedHostAddress(doc: Doc): string | undefined {
  const winlog = obj(doc.winlog);
  if (!winlog) return undefined;
  const provider = winlog.provider_name;
  const code = String(winlog.event_id ?? obj(doc.event)?.code ?? '');
  if (provider === SYSMON_PROVIDER) {
    if (code !== '3' || obj(doc.network)?.direction !== 'egress') return undefined;
    return hostAddress(obj(doc.source)?.ip);
  }
  if (provider === SECURITY_PROVIDER && (WFP_CONNECTION.has(code) || WFP_BIND.has(code))) {
    const data = obj(winlog.event_data);
    if (!data) return undefined;
    if (WFP_CONNECTION.has(code)) {
      const dir = str(data.Direction)?.trim().toLowerCase();
      if (dir === undefined || !OUTBOUND.has(dir)) return undefined;
    }
    return hostAddress(data.SourceAddress);
  }
  return undefined;
}

/** Orders addresses IPv4 before IPv6, then by their bytes: the same list whatever the input order. */
function compareAddresses(a: string, b: string): number {
  const x = ip().parse(a).toByteArray();
  const y = ip().parse(b).toByteArray();
  if (x.length !== y.length) return x.length - y.length;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return 0;
}

/** The addresses each machine (by host.id) revealed; see revealedHostAddress. */
export class HostAddressBook {
  private readonly byHost: Map<string, string[]>;
  /** Addresses not kept because a bound was reached. */
  dropped = 0;

  constructor(entries?: Iterable<readonly [string, readonly string[]]>) {
    this.byHost = new Map();
    if (entries) for (const [host, ips] of entries) for (const ip of ips) this.add(host, ip);
  }

  get size(): number {
    return this.byHost.size;
  }

  /** Records an address (already in hostAddress form) of a host. */
  add(hostId: string, ip: string): void {
    let list = this.byHost.get(hostId);
    if (list === undefined) {
      if (this.byHost.size >= MAX_HOSTS) {
        this.dropped++;
        return;
      }
      list = [];
      this.byHost.set(hostId, list);
    }
    if (list.includes(ip)) return;
    if (list.length >= MAX_ADDRESSES_PER_HOST) {
      this.dropped++;
      return;
    }
    let i = list.length;
    while (i > 0 && compareAddresses(list[i - 1]!, ip) > 0) i--;
    list.splice(i, 0, ip);
  }

  /** Learns from one mapped Windows event; true when it revealed an address. */
  observe(doc: Doc): boolean {
    const ip = revealedHostAddress(doc);
    if (ip === undefined) return false;
    const id = obj(doc.host)?.id;
    if (typeof id !== 'string' || id === '') return false;
    this.add(id, ip);
    return true;
  }

  /** The host's addresses in order (IPv4 first), or undefined when it revealed none. */
  get(hostId: string): readonly string[] | undefined {
    return this.byHost.get(hostId);
  }

  /** [host.id, addresses] pairs, for passing the book to worker threads. */
  entries(): [string, string[]][] {
    return [...this.byHost].map(([h, ips]) => [h, [...ips]]);
  }
}
