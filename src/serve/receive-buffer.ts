// The kernel receive buffer of the ingest sockets, sized to hold a whole bulk request.
//
// Why: Linux starts every TCP connection with a receive buffer of net.ipv4.tcp_rmem's default
// (128 KiB) and grows it only when the application drains it faster than data arrives ("copied"
// minus what is still queued, per round trip). The service's main thread reads each socket once
// per event-loop turn, and a turn can hold a request's whole parse or a detection slice (tens to
// hundreds of milliseconds); a connection whose buffer was not grown early then stays at 128 KiB,
// and its 4 MB Beats body crawls in at 128 KiB per turn — the sender waits in zero-window probes —
// for seconds, while the other connections' bodies come whole. The events of that request arrive
// late for real-time detection (repair runs, alert latency). A buffer set once on the listening
// socket is inherited by every accepted connection (and fixed: the kernel no longer tunes it), so
// a body of usual size is queued whole by the kernel however busy the thread is.
//
// Node has no API for SO_RCVBUF on TCP sockets: the `sockopt` package (N-API, prebuilt) sets it
// by file descriptor. Without it, or off Linux, the kernel's own tuning stays in charge.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Server } from 'node:net';

/** Linux's socket option numbers (asm-generic/socket.h: the same on x86, arm, arm64). */
const SOL_SOCKET = 1;
const SO_RCVBUF = 8;
const SO_RCVBUFFORCE = 33;

interface SockOpt {
  getsockopt(socket: unknown, level: number, option: number): number;
  setsockopt(socket: unknown, level: number, option: number, value: number): void;
}

let sockopt: SockOpt | null | undefined;

function loadSockopt(): SockOpt | null {
  if (sockopt !== undefined) return sockopt;
  try {
    sockopt = createRequire(import.meta.url)('sockopt') as SockOpt;
  } catch {
    sockopt = null;
  }
  return sockopt;
}

export interface ReceiveBufferOutcome {
  /** The buffer every accepted connection gets (bytes, as the kernel reports it), or null: the kernel's default and tuning. */
  bytes: number | null;
  /** Why the buffer was left to the kernel, or was made smaller than asked (one line for the log). */
  note?: string;
}

/**
 * Gives every connection `server` accepts from now on a receive buffer of `bytes` (as the kernel
 * counts it: half of it for data bookkeeping aside, the TCP window is nearly all of it). The
 * kernel caps SO_RCVBUF at net.core.rmem_max; beyond it SO_RCVBUFFORCE (root) is used, else the
 * buffer is left to the kernel's tuning, which can grow larger than a capped fixed one. `bytes`
 * 0 leaves it to the kernel.
 */
export function setReceiveBuffer(server: Server, bytes: number, rmemMaxFile = '/proc/sys/net/core/rmem_max'): ReceiveBufferOutcome {
  if (bytes <= 0) return { bytes: null };
  if (process.platform !== 'linux') return { bytes: null, note: 'receive buffer left to the kernel (set only on Linux)' };
  const so = loadSockopt();
  if (!so) return { bytes: null, note: 'receive buffer left to the kernel (the sockopt package could not be loaded)' };
  // The kernel doubles what it is given (the other half is its bookkeeping of the queued data).
  const asked = Math.ceil(bytes / 2);
  let rmemMax = Infinity;
  try {
    rmemMax = Number(readFileSync(rmemMaxFile, 'utf8').trim());
  } catch {
    /* not readable: SO_RCVBUF is tried, and what the kernel gave is read back */
  }
  try {
    if (asked <= rmemMax) so.setsockopt(server, SOL_SOCKET, SO_RCVBUF, asked);
    else so.setsockopt(server, SOL_SOCKET, SO_RCVBUFFORCE, asked);
  } catch (e) {
    return {
      bytes: null,
      note: `receive buffer left to the kernel: net.core.rmem_max is ${rmemMax} bytes, below the ${asked} that ${bytes} needs, and raising past it is not permitted (${(e as Error).message}); raise it with sysctl -w net.core.rmem_max=${asked}`,
    };
  }
  const got = so.getsockopt(server, SOL_SOCKET, SO_RCVBUF);
  return got < bytes ? { bytes: got, note: `receive buffer ${got} bytes, less than the ${bytes} asked (net.core.rmem_max)` } : { bytes: got };
}
