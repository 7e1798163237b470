// Real nats-server processes for tests and benchmarks: a JetStream cluster of N servers on loopback
// ports, each with its own fresh store directory, every process started and killed by its PID.
// The Debian package installs the server as /usr/sbin/nats-server (.ci/run installs it).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

// ---- ports -------------------------------------------------------------------------------------------
//
// Several test runs share this machine (CI, a clean clone's `npm test`, other checkouts), and in one
// run vitest's forks run the cluster files at the same time. A port picked at random collides
// sometimes, and a server killed by a test and restarted must find its port again: between the two,
// another run could have bound it. So every port is reserved for as long as the run uses it: a lock
// file `<tmp>/eqlite-test-ports/<port>` created exclusively (O_EXCL) holding the owner's pid, and the
// port is checked free (bound and released) once reserved. Locks go when their owner releases them or
// exits; a lock whose pid is gone (a run killed by SIGKILL) is taken over. Ports come from below the
// kernel's ephemeral range, which outgoing connections take from: nothing else on the machine is
// handed a reserved port while its server is down.
const LOCKS = path.join(tmpdir(), 'eqlite-test-ports');
const held = new Set<number>();

function portRange(): [number, number] {
  let ephemeralLow = 32768;
  try {
    ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || ephemeralLow;
  } catch {
    /* not Linux: the usual default */
  }
  return [20000, Math.max(20000 + 2000, ephemeralLow - 1)];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock of `port`; false when another live process holds it. */
function lockPort(port: number): boolean {
  const file = path.join(LOCKS, String(port));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    // Held: by a live process (keep off), or left by one that died (take it over). Two runs taking
    // over the same dead lock at the same instant could both succeed; runs that die by SIGKILL are
    // rare and the bind check below still catches a port in use.
    let owner = NaN;
    try {
      owner = Number(readFileSync(file, 'utf8'));
    } catch {
      continue; // released meanwhile: try again
    }
    if (!Number.isInteger(owner) || owner <= 0 || alive(owner)) return false;
    try {
      unlinkSync(file);
    } catch {
      /* someone else took it over first */
    }
  }
  return false;
}

/** Whether nothing listens on 127.0.0.1:port (binds it and lets it go). */
function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ port, host: '127.0.0.1', exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/** Reserves `n` free loopback ports for this process until releasePorts() or exit. */
export async function reservePorts(n: number): Promise<number[]> {
  mkdirSync(LOCKS, { recursive: true });
  const [lo, hi] = portRange();
  const span = hi - lo + 1;
  const out: number[] = [];
  let p = lo + Math.floor(Math.random() * span);
  for (let tried = 0; out.length < n; tried++, p = p >= hi ? lo : p + 1) {
    if (tried >= span) {
      releasePorts(out);
      throw new Error(`no ${n} free ports between ${lo} and ${hi} (locks in ${LOCKS})`);
    }
    if (held.has(p) || !lockPort(p)) continue;
    held.add(p);
    if (await bindable(p)) out.push(p);
    else releasePorts([p]);
  }
  return out;
}

/** Gives reserved ports back (a lock is removed only by the process that holds it). */
export function releasePorts(ports: readonly number[]): void {
  for (const p of ports) {
    if (!held.delete(p)) continue;
    const file = path.join(LOCKS, String(p));
    try {
      if (readFileSync(file, 'utf8') === String(process.pid)) unlinkSync(file);
    } catch {
      /* already gone */
    }
  }
}

/** The nats-server binary, or null when it is not installed. */
export function natsServerPath(): string | null {
  for (const p of ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server']) if (existsSync(p)) return p;
  try {
    const p = execFileSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' }).trim();
    return p || null;
  } catch {
    return null;
  }
}

/** The line a test prints when it skips for want of the server. */
export const NO_NATS = 'nats-server is not installed (apt-get install -y nats-server; .ci/run does it): cluster tests skipped';

interface Node {
  name: string;
  port: number;
  routePort: number;
  monitorPort: number;
  dir: string;
  conf: string;
  proc: ChildProcess | null;
  /** How a server started by this helper ended when nobody killed it (null: running, or killed by kill()). */
  exited: string | null;
}

/** Every cluster started in this process, so that a failing test still leaves no server (nor port lock) behind. */
const live = new Set<NatsCluster>();
function killAll(): void {
  for (const c of live) c.killAllSync();
  releasePorts([...held]);
}
process.once('exit', killAll);

export class NatsCluster {
  readonly nodes: Node[];
  readonly dir: string;

  private constructor(
    readonly bin: string,
    size: number,
    private readonly ports: number[],
    extraConfig: string[],
  ) {
    this.dir = mkdtempSync(path.join(tmpdir(), 'eqlite-nats-'));
    this.nodes = [];
    for (let i = 0; i < size; i++) {
      const name = `n${i + 1}`;
      this.nodes.push({ name, port: ports[3 * i]!, routePort: ports[3 * i + 1]!, monitorPort: ports[3 * i + 2]!, dir: path.join(this.dir, name), conf: path.join(this.dir, `${name}.conf`), proc: null, exited: null });
    }
    for (const n of this.nodes) {
      mkdirSync(n.dir, { recursive: true });
      const routes = this.nodes.filter((o) => o !== n).map((o) => `nats-route://127.0.0.1:${o.routePort}`);
      const lines = [`server_name: ${n.name}`, 'host: 127.0.0.1', `port: ${n.port}`, `http: 127.0.0.1:${n.monitorPort}`, `jetstream { store_dir: ${JSON.stringify(n.dir)}, max_memory_store: 268435456, max_file_store: 68719476736 }`];
      lines.push(...extraConfig);
      if (size > 1) lines.push(`cluster { name: eqlite-test, listen: 127.0.0.1:${n.routePort}, routes: [${routes.join(', ')}] }`);
      writeFileSync(n.conf, lines.join('\n') + '\n');
    }
    live.add(this);
  }

  /**
   * Starts `size` servers on reserved ports (client, route and monitoring ports each; kept until
   * stop(), so a killed server restarts on its own ports) and waits until JetStream is ready.
   */
  static async start(size: number, extraConfig: string[] = []): Promise<NatsCluster> {
    const bin = natsServerPath();
    if (!bin) throw new Error(NO_NATS);
    const c = new NatsCluster(bin, size, await reservePorts(3 * size), extraConfig);
    for (let i = 0; i < size; i++) c.spawn(i);
    await c.waitReady();
    return c;
  }

  /** Process ids of the running servers (CPU accounting in benchmarks). */
  pids(): (number | undefined)[] {
    return this.nodes.map((n) => n.proc?.pid);
  }

  get urls(): string[] {
    return this.nodes.map((n) => `nats://127.0.0.1:${n.port}`);
  }

  private spawn(i: number): void {
    const n = this.nodes[i]!;
    // The server's own log (a port it cannot bind, a store it cannot open) is kept for the failure message.
    const out = openSync(`${n.dir}.log`, 'a');
    const proc = spawn(this.bin, ['-c', n.conf], { stdio: ['ignore', out, out] });
    closeSync(out);
    n.proc = proc;
    n.exited = null;
    proc.once('exit', (code, signal) => {
      if (n.proc !== proc) return;
      n.proc = null;
      n.exited = signal ?? String(code);
    });
  }

  private tail(n: Node): string {
    try {
      return readFileSync(`${n.dir}.log`, 'utf8').trim().split('\n').slice(-8).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** kill -9 of server i. */
  async kill(i: number): Promise<void> {
    const p = this.nodes[i]!.proc;
    if (!p) return;
    const exited = new Promise((r) => p.once('exit', r));
    this.nodes[i]!.proc = null;
    p.kill('SIGKILL');
    await exited;
  }

  async restart(i: number): Promise<void> {
    this.spawn(i);
    await this.waitReady();
  }

  /** Every running server answers /healthz?js-enabled-only=true (JetStream up; the meta group has a leader). */
  async waitReady(ms = 60_000): Promise<void> {
    const end = Date.now() + ms;
    for (const n of this.nodes) {
      if (!n.proc && n.exited === null) continue;
      for (;;) {
        if (n.exited !== null) throw new Error(`nats-server ${n.name} exited (${n.exited}) on ports ${n.port}/${n.routePort}/${n.monitorPort}:\n${this.tail(n)}`);
        try {
          const r = await fetch(`http://127.0.0.1:${n.monitorPort}/jsz`);
          if (r.ok) {
            const j = (await r.json()) as { meta_cluster?: { leader?: string }; config?: unknown };
            if (this.nodes.length === 1 || j.meta_cluster?.leader) break;
          }
        } catch {
          /* not up yet */
        }
        if (Date.now() > end) throw new Error(`nats-server ${n.name} did not become ready in ${ms / 1000} s (ports ${n.port}/${n.routePort}/${n.monitorPort}):\n${this.tail(n)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  /** Per server: messages of each stream replica it holds (monitoring /jsz). */
  async streamCounts(): Promise<Record<string, Record<string, number>>> {
    const out: Record<string, Record<string, number>> = {};
    for (const n of this.nodes) {
      if (!n.proc) continue;
      const r = await fetch(`http://127.0.0.1:${n.monitorPort}/jsz?streams=true`);
      const j = (await r.json()) as { account_details?: { stream_detail?: { name: string; state: { messages: number } }[] }[] };
      const m: Record<string, number> = {};
      for (const a of j.account_details ?? []) for (const s of a.stream_detail ?? []) m[s.name] = s.state.messages;
      out[n.name] = m;
    }
    return out;
  }

  /** Waits until every replica of `stream` holds the same number of messages (a restarted server caught up). */
  async waitReplicasEqual(stream: string, ms = 60_000): Promise<number> {
    const end = Date.now() + ms;
    for (;;) {
      const c = await this.streamCounts();
      const counts = Object.values(c)
        .map((m) => m[stream])
        .filter((x): x is number => x !== undefined);
      if (counts.length > 0 && counts.every((x) => x === counts[0])) return counts[0]!;
      if (Date.now() > end) throw new Error(`replicas of ${stream} differ: ${JSON.stringify(c)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  killAllSync(): void {
    for (const n of this.nodes) {
      try {
        n.proc?.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }
  }

  /** Kills every server and removes the store directories. */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((_, i) => this.kill(i)));
    live.delete(this);
    releasePorts(this.ports);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
