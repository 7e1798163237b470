// Real nats-server processes for tests and benchmarks: a JetStream cluster of N servers on loopback
// ports, each with its own fresh store directory, every process started and killed by its PID.
// The Debian package installs the server as /usr/sbin/nats-server (.ci/run installs it).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

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
}

/** Every cluster started in this process, so that a failing test still leaves no server behind. */
const live = new Set<NatsCluster>();
function killAll(): void {
  for (const c of live) c.killAllSync();
}
process.once('exit', killAll);

export class NatsCluster {
  readonly nodes: Node[];
  readonly dir: string;

  private constructor(
    readonly bin: string,
    size: number,
    basePort: number,
    extraConfig: string[],
  ) {
    this.dir = mkdtempSync(path.join(tmpdir(), 'eqlite-nats-'));
    this.nodes = [];
    for (let i = 0; i < size; i++) {
      const name = `n${i + 1}`;
      this.nodes.push({ name, port: basePort + i, routePort: basePort + 100 + i, monitorPort: basePort + 200 + i, dir: path.join(this.dir, name), conf: path.join(this.dir, `${name}.conf`), proc: null });
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

  /** Starts `size` servers (client ports basePort…, routes +100, monitoring +200) and waits until JetStream is ready. */
  static async start(size: number, basePort: number, extraConfig: string[] = []): Promise<NatsCluster> {
    const bin = natsServerPath();
    if (!bin) throw new Error(NO_NATS);
    const c = new NatsCluster(bin, size, basePort, extraConfig);
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
    const proc = spawn(this.bin, ['-c', n.conf], { stdio: ['ignore', 'ignore', 'ignore'] });
    n.proc = proc;
    proc.once('exit', () => {
      if (n.proc === proc) n.proc = null;
    });
  }

  /** kill -9 of server i. */
  async kill(i: number): Promise<void> {
    const p = this.nodes[i]!.proc;
    if (!p) return;
    const exited = new Promise((r) => p.once('exit', r));
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
      if (!n.proc) continue;
      for (;;) {
        try {
          const r = await fetch(`http://127.0.0.1:${n.monitorPort}/jsz`);
          if (r.ok) {
            const j = (await r.json()) as { meta_cluster?: { leader?: string }; config?: unknown };
            if (this.nodes.length === 1 || j.meta_cluster?.leader) break;
          }
        } catch {
          /* not up yet */
        }
        if (Date.now() > end) throw new Error(`nats-server ${n.name} did not become ready`);
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
    rmSync(this.dir, { recursive: true, force: true });
  }
}
