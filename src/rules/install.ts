// `eqlite rules update [SOURCE]`: installs a release of elastic/detection-rules into the rules
// home (see home.ts), beside the package and without touching it.
//
// SOURCE is a URL (default: the GitHub archive of the pinned commit), a local .tar.gz/.tgz/.tar/
// .zip archive, or a local folder laid out like the repository (`rules/`, `rules_building_block/`,
// `LICENSE.txt`). Steps, each of which can refuse the update and leave the installed set as it was:
//
//   1. fetch: download to a temporary file (size- and stall-bounded), sha256 computed on the way;
//   2. verify the archive: `--sha256` when given;
//   3. extract only what a rule set is made of — `*.toml` below `rules/` and
//      `rules_building_block/`, and the top-level LICENSE/NOTICE files — refusing links, paths
//      outside the target, and more than MAX_FILES files or MAX_BYTES bytes;
//   4. verify the structure: a `rules/` folder with rule files, and a license file (a rule set whose
//      license is unknown is not installed); the license and notice files are kept with it;
//   5. verify the content digest when eqlite knows it (the pinned release);
//   6. load every rule once: every file must load and every production EQL rule must compile
//      exactly as `hunt` compiles it (`--allow-invalid` installs anyway, reporting them);
//   7. switch atomically: the release is renamed into place, then `current` is replaced by a
//      rename; the previous release is removed only after that.
//
// The report lists rules added, changed and removed compared with the release installed before.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, copyFileSync, openSync, readSync, closeSync } from 'node:fs';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tar from 'tar';
import yauzl from 'yauzl';
import { prepareRule, ruleCompileOptions } from '../detect/router.js';
import { queryProblemPosition } from './query-place.js';
import type { Rule } from './types.js';
import { loadRules } from './load.js';
import { CURRENT_FILE, MANIFEST_FILE, currentRelease, readManifest, releaseRulePaths, rulesHome, RuleSetError, type ManifestRule, type ReleaseManifest, type RulesHomeOptions } from './home.js';
import { countInto, own, setOwn } from '../util/own.js';
import { ioReason } from '../util/files.js';

/**
 * The release `rules update` installs without a SOURCE: elastic/detection-rules at the commit of
 * the corpus eqlite is tested against. Pinned by commit rather than by tag (a tag can be moved);
 * its content digest is known, so the download is verified file by file. GitHub's archive bytes
 * are not guaranteed stable, hence a digest of the rule files instead of the archive's.
 */
export const PINNED_RELEASE = {
  name: 'detection-rules-14cf530f',
  commit: '14cf530f0d2177023092449cd9d9348b4a8884c2',
  url: 'https://github.com/elastic/detection-rules/archive/14cf530f0d2177023092449cd9d9348b4a8884c2.tar.gz',
  contentSha256: 'a1522c839eef8a256afc6be51996567e0ca9d8493d7a77441271711e587104e9',
  ruleFiles: 2192,
} as const;

/** Bounds on what an archive may unpack to (the real rule set: ~2,200 files, ~21 MB). */
export const MAX_FILES = 20_000;
export const MAX_BYTES = 256 * 1024 * 1024;
export const MAX_FILE_BYTES = 8 * 1024 * 1024;
/** Largest download accepted (the repository archive is ~30 MB). */
export const MAX_DOWNLOAD_BYTES = 512 * 1024 * 1024;

const RULE_TREES = new Set(['rules', 'rules_building_block']);
const LICENSE_RE = /^(LICEN[CS]E|NOTICE|COPYING)(\.(txt|md))?$/i;

export interface InstallOptions extends RulesHomeOptions {
  /** URL, archive or folder; default PINNED_RELEASE.url. */
  source?: string;
  /** Expected sha256 of the archive (hex). */
  sha256?: string;
  /** Release name (default: from the archive's top folder, else derived from the content digest). */
  release?: string;
  /** Install even when some rules do not load or compile. */
  allowInvalid?: boolean;
  /** Seconds without data before a download is abandoned (default 60). */
  stallSeconds?: number;
  onProgress?: (message: string) => void;
}

export interface RuleRef {
  rule_id: string;
  name: string;
  file: string;
}

export interface InstallReport {
  status: 'installed' | 'unchanged';
  release: string;
  dir: string;
  previous: string | null;
  source: string;
  sourceKind: ReleaseManifest['source_kind'];
  archiveSha256?: string;
  contentSha256: string;
  verifiedDigest: boolean;
  licenseFiles: string[];
  counts: ReleaseManifest['counts'];
  added: RuleRef[];
  changed: RuleRef[];
  removed: RuleRef[];
  /** Rules that did not load or compile (installed only with allowInvalid). */
  invalid: { file: string; reason: string }[];
}

/** The update was refused; nothing was changed. */
export class InstallError extends Error {
  override name = 'InstallError';
  constructor(
    message: string,
    readonly details: string[] = [],
  ) {
    super(message);
  }
}

const require = createRequire(import.meta.url);
const { version: EQLITE_VERSION } = require('../../package.json') as { version: string };

export async function installRules(opts: InstallOptions = {}): Promise<InstallReport> {
  const source = opts.source ?? PINNED_RELEASE.url;
  const progress = opts.onProgress ?? (() => {});
  const home = rulesHome(opts);
  const tmp = path.join(home, `.update-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    mkdirSync(home, { recursive: true });
    removeStaleUpdates(home);
    mkdirSync(tmp);
  } catch (e) {
    throw new InstallError(`cannot write to the rules home ${home}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message} (set EQLITE_RULES_HOME or --rules-home to another folder)`);
  }
  // A damaged install (its manifest gone) is what an update repairs: it counts as nothing installed.
  let previous: ReturnType<typeof currentRelease> = null;
  try {
    previous = currentRelease(opts);
  } catch (e) {
    if (!(e instanceof RuleSetError)) throw e;
  }
  try {
    // ---- 1–3: obtain the files
    let kind: ReleaseManifest['source_kind'];
    let archiveSha256: string | undefined;
    let root: string;
    let topName: string | null = null;
    const isUrl = /^https?:\/\//i.test(source);
    if (isUrl || !isDirectory(source)) {
      let archive: string;
      if (isUrl) {
        kind = 'url';
        archive = path.join(tmp, 'download');
        progress(`downloading ${source}`);
        const got = await download(source, archive, { stallMs: (opts.stallSeconds ?? 60) * 1000 });
        archiveSha256 = got.sha256;
        progress(`downloaded ${(got.bytes / 1e6).toFixed(1)} MB, sha256 ${got.sha256}`);
      } else {
        kind = 'archive';
        archive = source;
        if (!existsSync(source)) throw new InstallError(`cannot read ${source}: no such file or directory`);
        archiveSha256 = await sha256File(source);
      }
      if (opts.sha256 && opts.sha256.toLowerCase() !== archiveSha256) {
        throw new InstallError(`checksum mismatch for ${source}: expected sha256 ${opts.sha256.toLowerCase()}, got ${archiveSha256}`);
      }
      const out = path.join(tmp, 'extract');
      mkdirSync(out);
      const extracted = await extractArchive(archive, out, source);
      topName = extracted.prefix || null;
      root = path.join(out, extracted.prefix);
    } else {
      kind = 'directory';
      if (opts.sha256) throw new InstallError('--sha256 checks an archive; the source is a folder');
      root = path.resolve(source);
    }

    // ---- 4: structure and license
    const stage = path.join(tmp, 'release');
    mkdirSync(stage);
    const licenseFiles = collectRelease(root, stage, kind === 'directory', source);

    // ---- 5: content digest
    const content = contentDigest(stage);
    // The pinned release must have its known digest; any other source that has it (a mirror, a
    // local copy of the same commit) is that release, verified.
    const expectPinned = source === PINNED_RELEASE.url || topName === `detection-rules-${PINNED_RELEASE.commit}`;
    const pinned = content.digest === PINNED_RELEASE.contentSha256;
    if (expectPinned && !pinned) {
      throw new InstallError(
        `content of ${source} does not match elastic/detection-rules ${PINNED_RELEASE.commit}: rule-file digest ${content.digest}, expected ${PINNED_RELEASE.contentSha256} (${content.files} files, expected ${PINNED_RELEASE.ruleFiles})`,
      );
    }

    // ---- 6: load and compile every rule
    progress(`checking ${content.files} rule files`);
    const checked = checkRules(stage);
    if (checked.invalid.length > 0 && !opts.allowInvalid) {
      throw new InstallError(
        `${checked.invalid.length} rule(s) of ${source} do not load or compile; nothing was installed (use --allow-invalid to install the others anyway)`,
        checked.invalid.map((x) => `${x.file}: ${x.reason}`),
      );
    }
    if (checked.runnable === 0) throw new InstallError(`${source} holds no EQL rule eqlite can run`);

    // ---- 7: name, manifest, switch
    let release = sanitizeName(opts.release ?? (pinned ? PINNED_RELEASE.name : topName ? shortenTop(topName) : `local-${content.digest.slice(0, 12)}`));
    const existing = readManifest(path.join(home, release));
    const manifest: ReleaseManifest = {
      format: 1,
      release,
      source: isUrl ? source : path.resolve(source),
      source_kind: kind,
      ...(archiveSha256 ? { archive_sha256: archiveSha256 } : {}),
      content_sha256: content.digest,
      verified_digest: pinned,
      installed_at: new Date().toISOString(),
      eqlite_version: EQLITE_VERSION,
      license_files: licenseFiles,
      counts: checked.counts,
      rules: checked.rules,
    };
    const diff = diffReleases(previous?.manifest ?? null, manifest);
    const base = {
      previous: previous?.name ?? null,
      source: manifest.source,
      sourceKind: kind,
      ...(archiveSha256 ? { archiveSha256 } : {}),
      contentSha256: content.digest,
      verifiedDigest: pinned,
      licenseFiles,
      counts: checked.counts,
      invalid: checked.invalid,
      ...diff,
    };
    if (existing && existing.content_sha256 === content.digest) {
      // The same rules are already on disk: make them current, copy nothing.
      setCurrent(home, release);
      if (previous && previous.name !== release) removeRelease(home, previous.name);
      return { status: previous?.name === release ? 'unchanged' : 'installed', release, dir: path.join(home, release), ...base };
    }
    if (existing || existsSync(path.join(home, release))) release = sanitizeName(`${release}-${content.digest.slice(0, 8)}`);
    manifest.release = release;
    writeFileSync(path.join(stage, MANIFEST_FILE), JSON.stringify(manifest, null, 1) + '\n');
    const dir = path.join(home, release);
    if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    renameSync(stage, dir);
    setCurrent(home, release);
    if (previous && previous.name !== release) removeRelease(home, previous.name);
    return { status: 'installed', release, dir, ...base };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Temporary folders of updates whose process is gone (killed, power loss) are removed. */
function removeStaleUpdates(home: string): void {
  for (const name of readdirSync(home)) {
    const m = /^\.update-(\d+)-[0-9a-f]+$/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    let alive = pid === process.pid;
    if (!alive) {
      try {
        process.kill(pid, 0);
        alive = true;
      } catch (e) {
        alive = (e as NodeJS.ErrnoException).code === 'EPERM';
      }
    }
    if (!alive) rmSync(path.join(home, name), { recursive: true, force: true });
  }
}

/** Removes the installed rule set: the bundled seed rule is used again. */
export function removeInstalled(opts: RulesHomeOptions = {}): string | null {
  const home = rulesHome(opts);
  const cur = currentRelease(opts);
  rmSync(path.join(home, CURRENT_FILE), { force: true });
  if (cur) removeRelease(home, cur.name);
  return cur?.name ?? null;
}

function removeRelease(home: string, name: string): void {
  const dir = path.join(home, name);
  // Only folders this code created (they hold our manifest) are ever deleted.
  if (readManifest(dir)) rmSync(dir, { recursive: true, force: true });
}

function setCurrent(home: string, release: string): void {
  const tmp = path.join(home, `${CURRENT_FILE}.${process.pid}.tmp`);
  writeFileSync(tmp, release + '\n');
  renameSync(tmp, path.join(home, CURRENT_FILE));
}

function sanitizeName(s: string): string {
  const n = s.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[.-]+/, '').slice(0, 80);
  if (n === '' || n === CURRENT_FILE) throw new InstallError(`invalid release name ${JSON.stringify(s)}`);
  return n;
}

/** `detection-rules-<40 hex>` (GitHub's folder for a commit archive) → `detection-rules-<8 hex>`. */
function shortenTop(top: string): string {
  const m = /^(.*-)([0-9a-f]{40})$/.exec(top);
  return m ? m[1]! + m[2]!.slice(0, 8) : top;
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

// ---- download ---------------------------------------------------------------------------------

async function download(url: string, dest: string, o: { stallMs: number }): Promise<{ sha256: string; bytes: number }> {
  const ctl = new AbortController();
  let stalled = false;
  let timer = setTimeout(() => ((stalled = true), ctl.abort()), o.stallMs);
  const bump = () => {
    clearTimeout(timer);
    timer = setTimeout(() => ((stalled = true), ctl.abort()), o.stallMs);
  };
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    let res: Response;
    try {
      res = await fetch(url, { signal: ctl.signal, redirect: 'follow', headers: { 'user-agent': `eqlite/${EQLITE_VERSION}` } });
    } catch (e) {
      throw new InstallError(`cannot download ${url}: ${stalled ? `no response in ${o.stallMs / 1000} s` : fetchErrorText(e)}`);
    }
    if (!res.ok) throw new InstallError(`cannot download ${url}: HTTP ${res.status} ${res.statusText}`.trimEnd());
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (declared > MAX_DOWNLOAD_BYTES) throw new InstallError(`cannot download ${url}: ${declared} bytes is more than the ${MAX_DOWNLOAD_BYTES} accepted`);
    if (!res.body) throw new InstallError(`cannot download ${url}: empty response`);
    const out = createWriteStream(dest);
    // A failed write (full disk) is the download's error, said as such; without a listener its
    // 'error' event would end the process with a stack trace.
    let writeError: Error | null = null;
    out.on('error', (e) => (writeError ??= e));
    const writeFailed = () => new InstallError(`cannot write ${dest}: ${ioReason(writeError)}`);
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        bump();
        bytes += chunk.byteLength;
        if (bytes > MAX_DOWNLOAD_BYTES) throw new InstallError(`cannot download ${url}: more than ${MAX_DOWNLOAD_BYTES} bytes`);
        hash.update(chunk);
        if (writeError) throw writeFailed();
        if (!out.write(chunk)) await once(out, 'drain');
      }
    } catch (e) {
      if (e instanceof InstallError) throw e;
      if (writeError) throw writeFailed();
      throw new InstallError(`cannot download ${url}: ${stalled ? `no data for ${o.stallMs / 1000} s` : fetchErrorText(e)}`);
    } finally {
      if (!out.destroyed) {
        out.end();
        await once(out, 'close').catch(() => {});
      }
    }
    if (writeError) throw writeFailed();
    if (Number.isFinite(declared) && declared !== bytes) throw new InstallError(`cannot download ${url}: got ${bytes} of ${declared} bytes`);
  } finally {
    clearTimeout(timer);
  }
  return { sha256: hash.digest('hex'), bytes };
}

function fetchErrorText(e: unknown): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  const cause = err.cause;
  if (cause && (cause.code || cause.message)) return `${cause.code ?? ''}${cause.code && cause.message ? ' ' : ''}${cause.message ?? ''}`.trim();
  return err.message ?? String(e);
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

// ---- extraction -------------------------------------------------------------------------------

interface Extracted {
  /** The archive's top folder holding `rules/` ('' when `rules/` is at the root). */
  prefix: string;
  files: number;
}

/** Where an archive member goes: its top folder and path below it, or null to skip it. */
export function classifyMember(name: string): { prefix: string; rel: string; tree: boolean } | null {
  const parts = name.replace(/\\/g, '/').split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length === 0 || parts.includes('..')) return null;
  for (const depth of [0, 1]) {
    if (parts.length <= depth) break;
    const prefix = depth === 1 ? parts[0]! : '';
    const rest = parts.slice(depth);
    if (RULE_TREES.has(rest[0]!) && rest.length > 1) {
      return rest[rest.length - 1]!.toLowerCase().endsWith('.toml') ? { prefix, rel: rest.join('/'), tree: true } : null;
    }
    if (rest.length === 1 && LICENSE_RE.test(rest[0]!)) return { prefix, rel: rest[0]!, tree: false };
  }
  return null;
}

function archiveKind(file: string): 'gzip' | 'zip' | 'tar' | null {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(512);
    const n = readSync(fd, head, 0, 512, 0);
    if (n >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
    if (n >= 4 && head.readUInt32LE(0) === 0x04034b50) return 'zip';
    if (n >= 262 && head.toString('latin1', 257, 262) === 'ustar') return 'tar';
    return null;
  } finally {
    closeSync(fd);
  }
}

class Budget {
  files = 0;
  bytes = 0;
  prefixes = new Set<string>();
  constructor(private readonly source: string) {}
  take(name: string, size: number): void {
    if (size > MAX_FILE_BYTES) throw new InstallError(`${this.source}: ${name} is ${size} bytes, more than the ${MAX_FILE_BYTES} accepted for a rule file`);
    this.files++;
    this.bytes += size;
    if (this.files > MAX_FILES) throw new InstallError(`${this.source}: more than ${MAX_FILES} rule files; not a detection-rules release`);
    if (this.bytes > MAX_BYTES) throw new InstallError(`${this.source}: rule files add up to more than ${MAX_BYTES} bytes; not a detection-rules release`);
  }
}

async function extractArchive(file: string, out: string, source: string): Promise<Extracted> {
  const kind = archiveKind(file);
  if (!kind) throw new InstallError(`${source} is not a .tar.gz, .tar or .zip archive`);
  const budget = new Budget(source);
  if (kind === 'zip') await extractZip(file, out, budget, source);
  else {
    let problem: InstallError | null = null;
    try {
      await tar.x({
        file,
        cwd: out,
        strict: true,
        preservePaths: false,
        filter: (name, entry) => {
          if (problem) return false;
          const c = classifyMember(name);
          if (!c) return false;
          const type = 'type' in entry ? entry.type : 'File';
          if (type !== 'File' && type !== 'OldFile' && type !== 'ContiguousFile') {
            if (c.tree || type === 'SymbolicLink' || type === 'Link') problem = new InstallError(`${source}: ${name} is a ${type}, not a file; refusing the archive`);
            return false;
          }
          try {
            budget.take(name, entry.size);
          } catch (e) {
            problem = e as InstallError;
            return false;
          }
          budget.prefixes.add(c.prefix);
          return true;
        },
      });
    } catch (e) {
      if (problem) throw problem;
      throw new InstallError(`${source}: damaged archive: ${(e as Error).message}`);
    }
    if (problem) throw problem;
  }
  if (budget.prefixes.size > 1) {
    throw new InstallError(`${source} holds several rule trees (${[...budget.prefixes].map((p) => p || '.').join(', ')}); expected one`);
  }
  const prefix = [...budget.prefixes][0] ?? '';
  if (budget.files === 0) throw new InstallError(`${source} holds no rules/ folder with .toml rule files; not a detection-rules release`);
  return { prefix, files: budget.files };
}

function extractZip(file: string, out: string, budget: Budget, source: string): Promise<void> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true, autoClose: true }, (err, zip) => {
      if (err || !zip) return reject(new InstallError(`${source}: damaged zip archive: ${err?.message ?? 'unreadable'}`));
      let failed = false;
      const fail = (e: Error) => {
        if (failed) return;
        failed = true;
        zip.close();
        reject(e instanceof InstallError ? e : new InstallError(`${source}: damaged zip archive: ${e.message}`));
      };
      zip.on('error', fail);
      zip.on('end', () => {
        if (!failed) resolve();
      });
      zip.on('entry', (entry: yauzl.Entry) => {
        const name = entry.fileName;
        const c = name.endsWith('/') ? null : classifyMember(name);
        if (!c) return zip.readEntry();
        const mode = (entry.externalFileAttributes >>> 16) & 0o170000;
        if (mode === 0o120000) return fail(new InstallError(`${source}: ${name} is a symbolic link; refusing the archive`));
        try {
          budget.take(name, entry.uncompressedSize);
        } catch (e) {
          return fail(e as Error);
        }
        budget.prefixes.add(c.prefix);
        const target = path.join(out, c.prefix, c.rel);
        mkdirSync(path.dirname(target), { recursive: true });
        zip.openReadStream(entry, (e2, stream) => {
          if (e2 || !stream) return fail(e2 ?? new Error('unreadable entry'));
          const w = createWriteStream(target);
          stream.on('error', fail);
          w.on('error', fail);
          w.on('close', () => {
            if (!failed) zip.readEntry();
          });
          stream.pipe(w);
        });
      });
      zip.readEntry();
    });
  });
}

// ---- structure --------------------------------------------------------------------------------

/**
 * Copies (folder source) or moves (extracted archive) the rule trees and license files from
 * `root` into `stage`; returns the license files kept. Only regular `.toml` files are taken.
 */
function collectRelease(root: string, stage: string, copy: boolean, source: string): string[] {
  if (!isDirectory(path.join(root, 'rules'))) {
    throw new InstallError(`${source} has no rules/ folder; expected the layout of elastic/detection-rules (rules/, rules_building_block/, LICENSE.txt)`);
  }
  const licenses = readdirSync(root).filter((n) => LICENSE_RE.test(n) && lstatSync(path.join(root, n)).isFile()).sort();
  if (!licenses.some((n) => /^(LICEN[CS]E|COPYING)/i.test(n))) {
    throw new InstallError(`${source} has no LICENSE file next to rules/; refusing to install rules whose license is unknown`);
  }
  const budget = new Budget(source);
  for (const tree of RULE_TREES) {
    const from = path.join(root, tree);
    if (!isDirectory(from)) continue;
    if (copy) copyTomlTree(from, path.join(stage, tree), budget);
    else renameSync(from, path.join(stage, tree));
  }
  for (const n of licenses) copyFileSync(path.join(root, n), path.join(stage, n));
  return licenses;
}

function copyTomlTree(from: string, to: string, budget: Budget): void {
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from).sort()) {
    if (name.startsWith('.')) continue;
    const src = path.join(from, name);
    const st = lstatSync(src);
    if (st.isDirectory()) copyTomlTree(src, path.join(to, name), budget);
    else if (st.isFile() && name.toLowerCase().endsWith('.toml')) {
      budget.take(src, st.size);
      copyFileSync(src, path.join(to, name));
    }
  }
}

/** Relative POSIX paths of the `.toml` files of a release, sorted. */
function ruleFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const name of readdirSync(d)) {
      const full = path.join(d, name);
      const st = lstatSync(full);
      if (st.isDirectory()) walk(full, `${rel}${name}/`);
      else if (st.isFile() && name.toLowerCase().endsWith('.toml')) out.push(rel + name);
    }
  };
  for (const tree of RULE_TREES) if (isDirectory(path.join(dir, tree))) walk(path.join(dir, tree), `${tree}/`);
  return out.sort();
}

/**
 * Digest of a rule set independent of how it was packaged: sha256 over the sorted lines
 * `<path>\0<sha256 of the file>\n`, for every `.toml` below `rules/` and `rules_building_block/`.
 */
export function contentDigest(dir: string): { digest: string; files: number; perFile: Map<string, string> } {
  const files = ruleFiles(dir);
  const perFile = new Map<string, string>();
  const h = createHash('sha256');
  for (const f of files) {
    const d = createHash('sha256').update(readFileSync(path.join(dir, f))).digest('hex');
    perFile.set(f, d);
    h.update(`${f}\0${d}\n`);
  }
  return { digest: h.digest('hex'), files: files.length, perFile };
}

// ---- rules ------------------------------------------------------------------------------------

function checkRules(dir: string): { counts: ReleaseManifest['counts']; rules: Record<string, ManifestRule>; runnable: number; invalid: { file: string; reason: string }[] } {
  const loaded = loadRules(releaseRulePaths(dir), { includeDeprecated: true });
  const rel = (f: string) => path.relative(dir, f).split(path.sep).join('/');
  const invalid: { file: string; reason: string }[] = [];
  for (const s of loaded.skipped) if (s.kind === 'invalid') invalid.push({ file: filePosition(rel(s.file), s.line, s.column), reason: s.reason });
  const digests = new Map<string, string>();
  const byType: Record<string, number> = {};
  const deprecatedByType: Record<string, number> = {};
  const rules: Record<string, ManifestRule> = {};
  let deprecated = 0;
  let notProduction = 0;
  let runnable = 0;
  const now = Date.now();
  for (const r of loaded.rules) {
    countInto(byType, r.type);
    const file = rel(r.origin.file);
    let sha = digests.get(file);
    if (!sha) digests.set(file, (sha = createHash('sha256').update(readFileSync(r.origin.file)).digest('hex')));
    const isDeprecated = r.origin.maturity === 'deprecated' || file.includes('/_deprecated/');
    if (isDeprecated) {
      deprecated++;
      countInto(deprecatedByType, r.type);
    }
    const eql = r.type === 'eql' && !r.unsupported;
    const production = r.origin.maturity === undefined || r.origin.maturity === 'production';
    if (eql && !isDeprecated && !production) notProduction++;
    let ok = eql && !isDeprecated && production;
    if (ok) {
      const p = prepareRule(r, { timestampField: '@timestamp', exceptionLists: [], now, replay: true });
      if ('skip' in p) {
        invalid.push({ file: filePosition(file, ...skipPosition(r)), reason: `rule "${r.name}" (${r.rule_id}): ${p.skip}` });
        ok = false;
      }
    }
    if (ok) runnable++;
    const entry: ManifestRule = { name: r.name, file, sha256: sha, type: r.type, runnable: ok };
    if (r.origin.maturity !== undefined) entry.maturity = r.origin.maturity;
    setOwn(rules, r.rule_id, entry);
  }
  return {
    counts: {
      files: loaded.counts.files,
      rules: loaded.rules.length,
      runnable,
      by_type: byType,
      deprecated,
      deprecated_by_type: deprecatedByType,
      not_production: notProduction,
      invalid: invalid.length,
    },
    rules,
    runnable,
    invalid,
  };
}

/** `file:line:column`, as `validate` and the rule loader name a place (as much of it as is known). */
function filePosition(file: string, line: number | undefined, column: number | undefined): string {
  return file + (line ? `:${line}${column ? `:${column}` : ''}` : '');
}

/**
 * Where a rule that prepareRule refused is wrong: a query that does not compile at its first
 * problem (the line and column of the rule file, as `validate` shows it), anything else (its
 * schedule, its filters) at the rule's table.
 */
function skipPosition(r: Rule): [number | undefined, number | undefined] {
  const pos = queryProblemPosition(r, ruleCompileOptions(r, { timestampField: '@timestamp' }));
  return pos === undefined ? [r.origin.line, undefined] : [pos.line, pos.column];
}

/** Runnable rules added, changed (file content differs) and removed between two releases. */
export function diffReleases(before: ReleaseManifest | null, after: ReleaseManifest): { added: RuleRef[]; changed: RuleRef[]; removed: RuleRef[] } {
  const added: RuleRef[] = [];
  const changed: RuleRef[] = [];
  const removed: RuleRef[] = [];
  const old = before?.rules ?? {};
  const ref = (id: string, r: ManifestRule): RuleRef => ({ rule_id: id, name: r.name, file: r.file });
  // Rule ids are keys chosen by rule files: own properties only (util/own.ts).
  for (const [id, r] of Object.entries(after.rules)) {
    if (!r.runnable) continue;
    const o = own(old, id) as ManifestRule | undefined;
    if (!o || !o.runnable) added.push(ref(id, r));
    else if (o.sha256 !== r.sha256) changed.push(ref(id, r));
  }
  for (const [id, o] of Object.entries(old)) {
    if (!o.runnable) continue;
    const r = own(after.rules, id) as ManifestRule | undefined;
    if (!r || !r.runnable) removed.push(ref(id, o));
  }
  const byName = (a: RuleRef, b: RuleRef) => a.name.localeCompare(b.name) || a.rule_id.localeCompare(b.rule_id);
  return { added: added.sort(byName), changed: changed.sort(byName), removed: removed.sort(byName) };
}
