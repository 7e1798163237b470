// Where eqlite keeps what it can recompute but would rather not (the rules' outlines, see
// engine/outline.ts): `$EQLITE_CACHE_HOME`, else `$XDG_CACHE_HOME/eqlite`, else ~/.cache/eqlite.
// EQLITE_CACHE_HOME=off turns caching off.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const CACHE_HOME_ENV = 'EQLITE_CACHE_HOME';

/** The cache directory, or undefined when caching is off. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const own = env[CACHE_HOME_ENV];
  if (own !== undefined && own !== '') return own === 'off' ? undefined : path.resolve(own);
  const xdg = env.XDG_CACHE_HOME;
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.cache'), 'eqlite');
}

/**
 * Keeps the `keep` most recently written files ending in `suffix` in `dir` (`own`, just written,
 * counts as the newest) and removes temporary files (`.tmp`) that crashed writers left over an
 * hour ago. Never throws: another process pruning at the same time, or a directory that went
 * away, leaves nothing to do.
 */
export function pruneCacheFiles(dir: string, own: string, suffix: string, keep: number): void {
  try {
    const now = Date.now();
    const kept: { name: string; t: number }[] = [];
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      if (name.endsWith(suffix)) kept.push({ name, t: name === own ? Infinity : statSync(full).mtimeMs });
      else if (name.endsWith('.tmp') && now - statSync(full).mtimeMs > 3_600_000) rmSync(full, { force: true });
    }
    kept.sort((a, b) => b.t - a.t);
    for (const k of kept.slice(keep)) rmSync(path.join(dir, k.name), { force: true });
  } catch {
    // Another process pruned at the same time, or the directory went away: nothing to do.
  }
}

/**
 * Writes a cache file atomically (a temporary file, then a rename, so a reader never sees half of
 * it) and prunes its kind (`suffix`) to the `keep` newest; false when it could not be written.
 */
export function writeCacheFile(file: string, bytes: Buffer, suffix: string, keep: number): boolean {
  const dir = path.dirname(file);
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(tmp, bytes);
    renameSync(tmp, file);
  } catch {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // The cache "directory" is a file (ENOTDIR): there is nothing to remove.
    }
    return false;
  }
  pruneCacheFiles(dir, path.basename(file), suffix, keep);
  return true;
}

// A digested cache file: one header line — a tag (the format, and what the content was made for),
// then the payload's length and sha256 — and the payload. The digest is checked before anything
// reads the payload, so a cut or damaged file is told from a good one.

/** Longest header line looked for. */
const DIGESTED_HEADER_MAX = 512;

/** A digested cache file's bytes: `tag` (without spaces or newlines in its last part) and `payload`. */
export function digestedFile(tag: string, payload: Buffer): Buffer {
  const header = `${tag} ${payload.length} ${createHash('sha256').update(payload).digest('hex')}\n`;
  return Buffer.concat([Buffer.from(header, 'latin1'), payload]);
}

/**
 * The payload of the digested cache file `file` written for `tag`: undefined when there is no
 * file, 'damaged' when it is of another tag, cut or not what was written.
 */
export function readDigestedFile(file: string, tag: string): Buffer | 'damaged' | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    return undefined;
  }
  const eol = bytes.subarray(0, DIGESTED_HEADER_MAX).indexOf(10);
  if (eol < 0) return 'damaged';
  const header = bytes.subarray(0, eol).toString('latin1');
  const sha = header.lastIndexOf(' ');
  const len = header.lastIndexOf(' ', sha - 1);
  const payload = bytes.subarray(eol + 1);
  if (len < 0 || header.slice(0, len) !== tag || Number(header.slice(len + 1, sha)) !== payload.length) return 'damaged';
  if (createHash('sha256').update(payload).digest('hex') !== header.slice(sha + 1)) return 'damaged';
  return payload;
}
