// HTTP plumbing shared by the routes: Elasticsearch-shaped errors, and request bodies read as
// streams with a size limit (counted after gzip decompression, so a small compressed body cannot
// expand without bound).
import { createGunzip, createInflate } from 'node:zlib';
import type { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** An error answered as Elasticsearch answers errors: `{"error":{…},"status":N}`. */
export class EsError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    reason: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(reason);
  }

  body(): Record<string, unknown> {
    const cause = { type: this.type, reason: this.message };
    return { error: { root_cause: [cause], type: this.type, reason: this.message }, status: this.status };
  }
}

export function badRequest(reason: string, type = 'parsing_exception'): EsError {
  return new EsError(400, type, reason);
}

export function notFound(reason: string, type = 'resource_not_found_exception'): EsError {
  return new EsError(404, type, reason);
}

/** The body stream a route receives (the catch-all content parser passes it through). */
export function bodyStream(request: FastifyRequest): Readable | null {
  const b = request.body as unknown;
  if (b && typeof (b as Readable).pipe === 'function') return b as Readable;
  // GET/DELETE with a body (curl -XGET -d …, ES clients): fastify does not run parsers for
  // them, but the raw request still holds the body.
  const raw = request.raw as Readable & { readableEnded?: boolean };
  const len = request.headers['content-length'];
  const chunked = /chunked/i.test(String(request.headers['transfer-encoding'] ?? ''));
  if ((len !== undefined && len !== '0') || chunked) return raw;
  return null;
}

/**
 * Reads a body stream chunk by chunk, decompressing gzip/deflate, and hands each chunk to
 * `onChunk`; fails with 413 beyond `limit` decompressed bytes, 400 on damaged compression.
 */
export async function streamBody(request: FastifyRequest, limit: number, onChunk: (chunk: Buffer) => void | Promise<void>): Promise<number> {
  const src = bodyStream(request);
  if (!src) return 0;
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    src.resume();
    throw tooLarge(limit);
  }
  const enc = String(request.headers['content-encoding'] ?? '').trim().toLowerCase();
  let stream: Readable = src;
  if (enc === 'gzip' || enc === 'x-gzip') stream = src.pipe(createGunzip());
  else if (enc === 'deflate') stream = src.pipe(createInflate());
  else if (enc !== '' && enc !== 'identity') {
    src.resume();
    throw new EsError(415, 'illegal_argument_exception', `unsupported Content-Encoding "${enc}" (gzip, deflate or none)`);
  }
  let total = 0;
  try {
    for await (const chunk of stream) {
      const b = chunk as Buffer;
      total += b.length;
      if (total > limit) {
        src.resume();
        throw tooLarge(limit);
      }
      // A promise from onChunk holds the reading back until it settles (backpressure).
      const wait = onChunk(b);
      if (wait) await wait;
    }
  } catch (e) {
    if (e instanceof EsError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? '';
    if (code.startsWith('Z_') || /incorrect header|unexpected end|invalid/i.test((e as Error).message)) {
      throw badRequest(`the ${enc} request body is damaged: ${(e as Error).message}`, 'illegal_argument_exception');
    }
    throw new EsError(400, 'illegal_argument_exception', `the request body could not be read: ${(e as Error).message}`);
  }
  return total;
}

function tooLarge(limit: number): EsError {
  return new EsError(413, 'content_too_long_exception', `request body is larger than the limit of ${limit} bytes (split the request)`);
}

/** Reads a whole (JSON) body; empty bodies give null. */
export async function readJsonBody(request: FastifyRequest, limit: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  const n = await streamBody(request, limit, (c) => void chunks.push(c));
  if (n === 0) return null;
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return null;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw badRequest(`request body is not valid JSON: ${(e as Error).message}`, 'x_content_parse_exception');
  }
}

/** Reads a whole body as text. */
export async function readTextBody(request: FastifyRequest, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  await streamBody(request, limit, (c) => void chunks.push(c));
  return Buffer.concat(chunks).toString('utf8');
}

/** Sends a JSON string or value. */
export function sendJson(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).header('content-type', 'application/json; charset=UTF-8').send(typeof body === 'string' ? body : JSON.stringify(body));
}

/** A query-string parameter as a string (first value), or undefined. */
export function qs(request: FastifyRequest, name: string): string | undefined {
  const q = request.query as Record<string, unknown> | undefined;
  if (!q || !Object.hasOwn(q, name)) return undefined;
  const v = q[name];
  if (Array.isArray(v)) return v.length > 0 ? String(v[0]) : undefined;
  return v === undefined || v === null ? undefined : String(v);
}

/** A boolean query parameter (`?pretty`, `?x=true`). */
export function qsBool(request: FastifyRequest, name: string): boolean | undefined {
  const v = qs(request, name);
  if (v === undefined) return undefined;
  return v === '' || v === 'true' || v === '1';
}
