// The ingest sockets' kernel receive buffer (src/serve/receive-buffer.ts): set on the listening
// socket, inherited by every accepted connection, left to the kernel when it cannot be set.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultConfig, loadConfigFile } from '../src/serve/config.js';
import { setReceiveBuffer } from '../src/serve/receive-buffer.js';
import { startService, type TestService } from './serve-helpers.js';

const SOL_SOCKET = 1;
const SO_RCVBUF = 8;

let sockopt: { getsockopt(s: unknown, level: number, option: number): number } | null = null;
try {
  sockopt = createRequire(import.meta.url)('sockopt');
} catch {
  sockopt = null;
}
const linux = process.platform === 'linux' && sockopt !== null;
/** Whether this process may give a socket 8 MiB (half of it within net.core.rmem_max, or root). */
function mayGive8MiB(): boolean {
  if (process.getuid?.() === 0) return true;
  try {
    return Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8')) >= 4 * 1024 * 1024;
  } catch {
    return false;
  }
}

/** A listening server, and the server side of one connection made to it. */
async function accepted(server: Server): Promise<Socket> {
  const port = (server.address() as { port: number }).port;
  const got = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const client = connect(port, '127.0.0.1');
  const s = await got;
  client.destroy();
  return s;
}

async function listening(): Promise<Server> {
  const server = createServer((s) => s.on('error', () => {}));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

describe('ingest socket receive buffer', () => {
  const servers: Server[] = [];
  let service: TestService | null = null;
  afterEach(async () => {
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
    await service?.close();
    service = null;
  });

  it.skipIf(!linux)('is inherited by every connection the listening socket accepts', async () => {
    const server = await listening();
    servers.push(server);
    const before = await accepted(server);
    const kernelDefault = sockopt!.getsockopt(before, SOL_SOCKET, SO_RCVBUF);
    before.destroy();
    expect(setReceiveBuffer(server, 2 * 1024 * 1024)).toEqual({ bytes: 2 * 1024 * 1024 });
    const after = await accepted(server);
    expect(sockopt!.getsockopt(after, SOL_SOCKET, SO_RCVBUF)).toBe(2 * 1024 * 1024);
    after.destroy();
    expect(kernelDefault).not.toBe(2 * 1024 * 1024);
  });

  it.skipIf(!linux)('is left to the kernel with 0', async () => {
    const server = await listening();
    servers.push(server);
    const before = sockopt!.getsockopt(server, SOL_SOCKET, SO_RCVBUF);
    expect(setReceiveBuffer(server, 0)).toEqual({ bytes: null });
    expect(sockopt!.getsockopt(server, SOL_SOCKET, SO_RCVBUF)).toBe(before);
  });

  it.skipIf(!linux)('goes past net.core.rmem_max only where the process may (root), else stays with the kernel', async () => {
    const server = await listening();
    servers.push(server);
    const dir = mkdtempSync(path.join(tmpdir(), 'eqlite-rmem-'));
    try {
      const rmemMax = path.join(dir, 'rmem_max');
      writeFileSync(rmemMax, '65536\n');
      const before = sockopt!.getsockopt(server, SOL_SOCKET, SO_RCVBUF);
      const out = setReceiveBuffer(server, 1024 * 1024, rmemMax);
      if (process.getuid?.() === 0) {
        // SO_RCVBUFFORCE (CAP_NET_ADMIN) is not capped by rmem_max.
        expect(out).toEqual({ bytes: 1024 * 1024 });
        expect(sockopt!.getsockopt(server, SOL_SOCKET, SO_RCVBUF)).toBe(1024 * 1024);
      } else {
        expect(out.bytes).toBe(null);
        expect(out.note).toMatch(/^receive buffer left to the kernel: net\.core\.rmem_max is 65536 bytes, below the 524288 that 1048576 needs/);
        expect(sockopt!.getsockopt(server, SOL_SOCKET, SO_RCVBUF)).toBe(before);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!linux || !mayGive8MiB())('is 8 MiB on the service by default, and set by [ingest] receive_buffer', async () => {
    service = await startService();
    expect(sockopt!.getsockopt(service.svc.app.server, SOL_SOCKET, SO_RCVBUF)).toBe(8 * 1024 * 1024);
    await service.close();
    service = await startService((c) => (c.ingest.receiveBufferBytes = 3 * 1024 * 1024));
    expect(sockopt!.getsockopt(service.svc.app.server, SOL_SOCKET, SO_RCVBUF)).toBe(3 * 1024 * 1024);
  });

  it('reads receive_buffer from the configuration file', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'eqlite-rb-config-'));
    try {
      const file = path.join(dir, 'eqlite.toml');
      expect(defaultConfig().ingest.receiveBufferBytes).toBe(8 * 1024 * 1024);
      writeFileSync(file, '[ingest]\nreceive_buffer = "4MiB"\n');
      expect(loadConfigFile(file).ingest.receiveBufferBytes).toBe(4 * 1024 * 1024);
      writeFileSync(file, '[ingest]\nreceive_buffer = "0"\n');
      expect(loadConfigFile(file).ingest.receiveBufferBytes).toBe(0);
      writeFileSync(file, '[ingest]\nreceive_buffer = "lots"\n');
      expect(() => loadConfigFile(file)).toThrow(`${file}: ingest.receive_buffer: invalid size "lots": expected a number with B, KB, MB, GB, KiB, MiB or GiB (e.g. 10GB)`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
