// Rule-set snapshots: loading a thousand rules parses megabytes of TOML or JSON, checks every rule
// and locates every query in its file — about a second, or two for the installed TOML set, before
// a hunt reads its first event. The result depends only on the rule files' bytes, the load
// options and the code of this build, so it is kept on disk (in the cache directory, see
// util/cache-dir.ts) and the next load of the same files is one read of that snapshot.
//
// A snapshot file (`rule-sets/<key>.snap`) is one line of JSON metadata, then the loaded value
// serialized by V8 (node:v8, the structured-clone format: plain objects, arrays, strings, numbers
// keep their own properties and order). The key is a digest of the build, what was loaded and how
// (the paths given, the options), so editing, adding or removing a rule file replaces its
// snapshot instead of adding one. The metadata holds:
//   - a digest of every file's bytes and of the problems met listing them: the snapshot is used
//     only for the same contents;
//   - the files loaded, in order, and every directory the walk that found them looked at, with its
//     stat data (as for files, below). While every directory still looks so, no entry was added,
//     removed or renamed in any, and the recorded files are what a walk would find: they are
//     stat-ed without listing the directories again (for the installed TOML set: 2,192 files in
//     36 directories). A walk that met a symbolic link or a problem is not recorded so;
//   - each file's size, modification and change times, inode and device, as stat saw them when the
//     snapshot was written. While every file still looks exactly so, the bytes are not read again
//     (as git's index and make trust them); a file changed within 2 s before the snapshot was
//     written could have changed again unseen within the same clock tick, so then the bytes are
//     always read and compared (a "racily clean" file, in git's words);
//   - the serialized value's length and digests, each checked before its part is deserialized.
// The serialized value is in two parts when the loaded value carries rules (RuleCarrier): the
// value with the rules' seldom-read fields left out (with the few keys of their `extra` a hunt
// reads while it starts, beside them), then those fields (cold-fields.ts), which are deserialized
// only when some rule's field is first read. `payload.core` is the first part's length; each part
// has its own digest, and the cold part's (8.6 MB of the installed TOML set's 10.7) is checked
// only when it is deserialized. Should it then be found damaged, the rule files are loaded again
// and give the cold fields — the same rules in the same order, while the files hold what they held
// when the snapshot was written (its content digest); if they have changed since, reading the
// fields fails with an error saying so — and the snapshot is removed, to be written anew.
// A damaged, truncated or foreign file is ignored and replaced; files are written to a temporary
// name and renamed, so a reader never sees half of one. At most KEEP_SNAPSHOTS snapshots are kept
// (the most recently written), and none larger than MAX_SNAPSHOT_BYTES is written. Any problem
// with the cache only costs the next load its speed: the rules are then loaded from their files.
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync, rmSync, statSync, type Stats } from 'node:fs';
import { readFileCapped } from '../util/files.js';
import path from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { withoutTurbofan } from '../util/no-turbofan.js';
import { buildId } from '../util/build-id.js';
import { writeCacheFile } from '../util/cache-dir.js';
import type { Listing, LoadStep } from './load.js';
import type { Rule } from './types.js';
import { attachColdFields, coldValuesOf, splitColdFields, type ColdIndex, type ColdValues } from './cold-fields.js';
import { queryDigestsOf, rememberQueryDigests } from './query-digest.js';

const FORMAT = 'eqlite-rule-set-snapshot/6';
export const SNAPSHOT_DIR = 'rule-sets';
/** Snapshots kept in the cache directory (the most recently written). */
export const KEEP_SNAPSHOTS = 8;
/** Larger serialized values are not written (a rule set is a few MB). */
export const MAX_SNAPSHOT_BYTES = 256 * 1024 * 1024;
/** A file modified less than this before the snapshot was written is always read again (ms). */
const RACY_MS = 2000;

interface SnapshotMeta {
  format: string;
  build: string;
  key: string;
  /** sha256 of every file's path, length and bytes, and of the problems met listing them, in order. */
  content: string;
  /** The files loaded, in order. */
  paths: string[];
  /** Per file, as stat saw it: size, mtimeMs, ctimeMs, ino, dev (STAT_FIELDS numbers a file). */
  files: number[];
  /** The problems met listing them (`file\0reason`), in order. */
  problems: string[];
  /**
   * Every directory the walk looked at, with its stat data as `files`; null when the walk cannot
   * be replayed from them (it met a symbolic link or a problem): then every load walks.
   */
  listing: { dirs: string[]; stats: number[] } | null;
  /** False when some file was modified too shortly before the snapshot to trust its stat. */
  stable: boolean;
  /** sha256: of the first `core` bytes; cold: of the rest (the cold fields, possibly empty). */
  payload: { bytes: number; sha256: string; core: number; cold: string };
}

/** Where a loaded value keeps its rules, so that their cold fields can be stored apart. */
export interface RuleCarrier<T> {
  rules(value: T): readonly Rule[];
  /** A copy of the value holding these rules instead. */
  withRules(value: T, rules: Rule[]): T;
}

/** What happened on the last cachedRuleLoad of this process (for tests and `--debug` output). */
export type SnapshotOutcome = 'off' | 'hit' | 'hit-after-read' | 'written' | 'not-written';
let lastOutcome: SnapshotOutcome = 'off';
export function lastSnapshotOutcome(): SnapshotOutcome {
  return lastOutcome;
}
let lastWalked = false;
/** Whether the last cachedRuleLoad of this process walked its paths (false: it replayed a listing). */
export function lastSnapshotWalked(): boolean {
  return lastWalked;
}

type FileStep = Extract<LoadStep, { file: string }>;

/**
 * `compute(steps, read)` — the loading of what `plan()` lists, with `read` giving a file's bytes —
 * or the value a snapshot of it in `dir` holds when the files are unchanged. `purpose`, `paths`
 * (what `plan` walks) and `options` name what is loaded and how (they are the key).
 *
 * `plan` fills a Listing: when its walk met no symbolic link and no problem, the snapshot records
 * every directory it looked at with its stat data, and a later load whose directories all still
 * look so uses the recorded list of files instead of walking again: an entry added, removed or
 * renamed changes its directory's modification and change times. Each file is still stat-ed and
 * compared, since a file edited in place changes no directory.
 */
export function cachedRuleLoad<T>(
  dir: string,
  purpose: string,
  paths: readonly string[],
  options: unknown,
  plan: (listing: Listing) => LoadStep[],
  compute: (steps: readonly LoadStep[], read: (file: string) => Buffer) => T,
  carrier?: RuleCarrier<T>,
): T {
  const key = digest(JSON.stringify([FORMAT, buildId(), purpose, options, paths]));
  const file = path.join(dir, SNAPSHOT_DIR, `${key.slice(0, 32)}.snap`);
  const found = readSnapshot(file, key);
  lastWalked = false;
  // Should the cold part of a snapshot used now be found damaged when it is read (see the top).
  // It keeps the content digest alone: the rest of the metadata is not kept for it.
  const recover = (content: string) => (): ColdValues[] => {
    rmSync(file, { force: true });
    const steps = plan({ dirs: [], replayable: true });
    const read = readFiles(steps);
    if (read === null || read.content !== content || carrier === undefined) {
      throw new Error(`the rule-set snapshot ${file} is damaged, and the rule files have changed since it was loaded: the rules' seldom-read fields (descriptions, guides, MITRE mappings) cannot be read; run again`);
    }
    const rules = carrier.rules(compute(steps, (f) => read.bytes.get(f) ?? readFileCapped(f)));
    return rules.map(coldValuesOf);
  };
  // The stat-ing loops run without TurboFan: optimizing them costs more than it saves (util/no-turbofan.ts).
  if (found && found.meta.stable && found.meta.listing !== null && withoutTurbofan(() => listingHolds(found.meta))) {
    const value = decode<T>(found, carrier, recover(found.meta.content));
    if (value !== undefined) {
      lastOutcome = 'hit';
      return value;
    }
  }

  const listing: Listing = { dirs: [], replayable: true };
  const steps = withoutTurbofan(() => plan(listing));
  lastWalked = true;
  const files = steps.filter((s): s is FileStep => 'file' in s);
  // A FIFO or device named on the command line is read as a stream: nothing to key it by.
  if (files.some((f) => !f.stat.isFile())) {
    lastOutcome = 'off';
    return compute(steps, readFileCapped);
  }
  const loaded = files.map((f) => f.file);
  const stats = statNumbers(files.map((f) => f.stat));
  const problems = steps.flatMap((s) => ('problem' in s ? [`${s.problem.file}\0${s.problem.reason}`] : []));
  const dirs: SnapshotMeta['listing'] = listing.replayable ? { dirs: listing.dirs.map((d) => d.path), stats: statNumbers(listing.dirs.map((d) => d.stat)) } : null;
  const readAt = Date.now();
  const settled = (st: Stats) => st.mtimeMs < readAt - RACY_MS && st.ctimeMs < readAt - RACY_MS;
  const stable = files.every((f) => settled(f.stat)) && listing.dirs.every((d) => settled(d.stat));
  // A snapshot written again with new stat data keeps its payload's recorded digests: its cold
  // part has not been checked, and a digest of it now would take any damage in it for the truth.
  const meta = (content: string, payload: SnapshotMeta['payload']): SnapshotMeta => ({
    format: FORMAT,
    build: buildId(),
    key,
    content,
    paths: loaded,
    files: stats,
    problems,
    listing: dirs,
    stable,
    payload,
  });

  if (found && found.meta.stable && sameList(found.meta.paths, loaded) && sameList(found.meta.files, stats) && sameList(found.meta.problems, problems)) {
    // The same files, each as it was, and the same problems (a directory was touched, or the
    // walk cannot be replayed): the snapshot holds. A new listing is recorded for the next load.
    const value = decode<T>(found, carrier, recover(found.meta.content));
    if (value !== undefined) {
      const payload = sameListing(found.meta.listing, dirs) ? null : payloadOf(found);
      if (payload !== null) writeSnapshot(file, meta(found.meta.content, found.meta.payload), payload);
      lastOutcome = 'hit';
      return value;
    }
  }

  // Read every file once: its bytes decide whether the snapshot still holds, and loading uses them.
  const read = readFiles(steps);
  if (read === null) {
    // Unreadable: loading reports it; a result holding that error is not kept.
    lastOutcome = 'not-written';
    return compute(steps, readFileCapped);
  }
  const { bytes, content } = read;

  if (found && found.meta.content === content) {
    const value = decode<T>(found, carrier, recover(found.meta.content));
    if (value !== undefined) {
      // Same bytes, new stat data (a touched or copied file), or old enough now to be trusted:
      // recorded for the next load.
      if (!sameList(found.meta.files, stats) || (stable && !found.meta.stable) || !sameListing(found.meta.listing, dirs)) {
        const payload = payloadOf(found);
        if (payload !== null) writeSnapshot(file, meta(content, found.meta.payload), payload);
      }
      lastOutcome = 'hit-after-read';
      return value;
    }
  }
  const value = compute(steps, (f) => bytes.get(f) ?? readFileCapped(f));
  let payload: Buffer;
  let core: number;
  try {
    if (carrier === undefined) {
      payload = serialize(value);
      core = payload.length;
    } else {
      const rules = carrier.rules(value);
      const split = splitColdFields(rules);
      // The queries' digests ride along (query-digest.ts): a hunt keys its outlines by them.
      const first = serialize([carrier.withRules(value, split.core), split.index, queryDigestsOf(rules)]);
      payload = Buffer.concat([first, split.cold]);
      core = first.length;
    }
  } catch {
    // Not serializable (cannot happen for loaded rules, which are plain data): just not cached.
    lastOutcome = 'not-written';
    return value;
  }
  lastOutcome = payload.length <= MAX_SNAPSHOT_BYTES && writeSnapshot(file, meta(content, { bytes: payload.length, sha256: digest(payload.subarray(0, core)), core, cold: digest(payload.subarray(core)) }), payload) ? 'written' : 'not-written';
  return value;
}

/**
 * Every file's bytes and the digest of them all, with the problems met listing them (part of what
 * was loaded, so digested too); null when a file cannot be read.
 */
function readFiles(steps: readonly LoadStep[]): { bytes: Map<string, Buffer>; content: string } | null {
  const bytes = new Map<string, Buffer>();
  const h = createHash('sha256');
  for (const step of steps) {
    if ('problem' in step) {
      h.update(`\x01${step.problem.file}\0${step.problem.reason}\0`);
      continue;
    }
    let b: Buffer;
    try {
      b = readFileCapped(step.file);
    } catch {
      return null;
    }
    bytes.set(step.file, b);
    h.update(`${step.file}\0${b.length}\0`).update(b);
  }
  return { bytes, content: h.digest('base64url') };
}

function digest(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('base64url');
}

/** Numbers kept per file or directory: what stat says of it. */
const STAT_FIELDS = 5;

/**
 * size, mtimeMs, ctimeMs, ino, dev of each. Milliseconds as doubles keep a fraction of about a
 * quarter of a microsecond at today's dates; a change that close to the last one is within the
 * 2 s of a racy file anyway (the bytes are then compared).
 */
function statNumbers(stats: readonly Stats[]): number[] {
  const out: number[] = [];
  for (const st of stats) out.push(st.size, st.mtimeMs, st.ctimeMs, st.ino, st.dev);
  return out;
}

/** `file` still looks as `recorded` (its STAT_FIELDS numbers from `at` on) says. */
function looksAsRecorded(file: string, recorded: readonly number[], at: number): boolean {
  let st: Stats | undefined;
  try {
    st = statSync(file, { throwIfNoEntry: false });
  } catch {
    return false;
  }
  return (
    st !== undefined &&
    st.size === recorded[at] &&
    st.mtimeMs === recorded[at + 1] &&
    st.ctimeMs === recorded[at + 2] &&
    st.ino === recorded[at + 3] &&
    st.dev === recorded[at + 4]
  );
}

/** Every directory and file the snapshot's listing recorded still looks as it did then. */
function listingHolds(meta: SnapshotMeta): boolean {
  const { dirs, stats } = meta.listing!;
  for (let i = 0; i < dirs.length; i++) if (!looksAsRecorded(dirs[i]!, stats, i * STAT_FIELDS)) return false;
  for (let i = 0; i < meta.paths.length; i++) if (!looksAsRecorded(meta.paths[i]!, meta.files, i * STAT_FIELDS)) return false;
  return true;
}

function sameListing(a: SnapshotMeta['listing'], b: SnapshotMeta['listing']): boolean {
  if (a === null || b === null) return a === b;
  return sameList(a.dirs, b.dirs) && sameList(a.stats, b.stats);
}

function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

interface Found {
  meta: SnapshotMeta;
  /** The payload's first part (`meta.payload.core` bytes). */
  core: Buffer;
  /** The rest (the cold fields), read from the file when first asked for; null when it cannot be. */
  cold: () => Buffer | null;
}

/**
 * Bytes read at once from a snapshot: the metadata line and the first part are read, the cold part
 * is not (for the installed TOML set: 0.4 and 1.7 MB read, 8.6 MB left until a rule's guide or
 * MITRE mapping is first read).
 */
const FIRST_READ = 1 << 20;

/** Closes the descriptor of a snapshot whose cold part was never read, once nothing can read it. */
const unreadCold = new FinalizationRegistry<number>((fd) => {
  try {
    closeSync(fd);
  } catch {
    // Closed already.
  }
});

/** `length` bytes of `fd` from `position` (fewer at the end of the file). */
function readAt(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got === length ? buf : buf.subarray(0, got);
}

/** The snapshot in `file` if it is one of ours for `key` and whole; null otherwise. */
function readSnapshot(file: string, key: string): Found | null {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return null;
  }
  let kept = false;
  try {
    const size = fstatSync(fd).size;
    let head = readAt(fd, 0, Math.min(size, FIRST_READ));
    let nl = head.indexOf(0x0a);
    if (nl < 0 && head.length < size) {
      head = readAt(fd, 0, size);
      nl = head.indexOf(0x0a);
    }
    if (nl < 0) return null;
    const meta = wellFormedMeta(head.toString('utf8', 0, nl), key);
    if (meta === null || size - (nl + 1) !== meta.payload.bytes) return null;
    const coreEnd = nl + 1 + meta.payload.core;
    if (head.length < coreEnd) head = Buffer.concat([head, readAt(fd, head.length, coreEnd - head.length)]);
    if (head.length < coreEnd) return null;
    const core = head.subarray(nl + 1, coreEnd);
    if (head.length >= size) {
      const cold = head.subarray(coreEnd, size);
      return { meta, core, cold: () => cold };
    }
    // The cold part is read from this descriptor when asked for: the file may have been replaced by
    // then (a snapshot written anew is renamed over it), the bytes behind the descriptor may not.
    kept = true;
    let cold: Buffer | null | undefined;
    const open = fd;
    const read = (): Buffer | null => {
      if (cold !== undefined) return cold;
      try {
        cold = readAt(open, coreEnd, size - coreEnd);
        if (cold.length !== size - coreEnd) cold = null;
      } catch {
        cold = null;
      }
      unreadCold.unregister(read);
      try {
        closeSync(open);
      } catch {
        // Nothing to do.
      }
      return cold;
    };
    unreadCold.register(read, open, read);
    return { meta, core, cold: read };
  } catch {
    return null;
  } finally {
    if (!kept) closeSync(fd);
  }
}

/** The metadata line if it is one of ours for `key`, else null. */
function wellFormedMeta(line: string, key: string): SnapshotMeta | null {
  let meta: SnapshotMeta;
  try {
    meta = JSON.parse(line) as SnapshotMeta;
  } catch {
    return null;
  }
  if (
    meta === null ||
    typeof meta !== 'object' ||
    meta.format !== FORMAT ||
    meta.build !== buildId() ||
    meta.key !== key ||
    typeof meta.content !== 'string' ||
    !Array.isArray(meta.files) ||
    !Array.isArray(meta.paths) ||
    meta.files.length !== meta.paths.length * STAT_FIELDS ||
    !Array.isArray(meta.problems) ||
    (meta.listing !== null && (!Array.isArray(meta.listing?.dirs) || !Array.isArray(meta.listing.stats) || meta.listing.stats.length !== meta.listing.dirs.length * STAT_FIELDS)) ||
    typeof meta.payload?.sha256 !== 'string' ||
    typeof meta.payload.cold !== 'string' ||
    !Number.isSafeInteger(meta.payload.bytes) ||
    !Number.isSafeInteger(meta.payload.core) ||
    meta.payload.core < 0 ||
    meta.payload.core > meta.payload.bytes
  ) {
    return null;
  }
  return meta;
}

/** The whole payload of a snapshot read (to write it again with new metadata); null when its cold part cannot be read. */
function payloadOf(found: Found): Buffer | null {
  const cold = found.cold();
  return cold === null ? null : Buffer.concat([found.core, cold]);
}

/**
 * The snapshot's value, or undefined when its first part's bytes are not what was written. The
 * cold part is checked when it is read: `recover` gives the cold fields if it is then found damaged.
 */
function decode<T>(found: Found, carrier: RuleCarrier<T> | undefined, recover: () => ColdValues[]): T | undefined {
  // Written by a load with another carrier (or none): not this load's value.
  if ((carrier === undefined) !== (found.meta.payload.core === found.meta.payload.bytes)) return undefined;
  const first = found.core;
  if (digest(first) !== found.meta.payload.sha256) return undefined;
  try {
    if (carrier === undefined) return deserialize(first) as T;
    const [value, index, digests] = deserialize(first) as [T, ColdIndex, unknown];
    const rules = carrier.rules(value);
    if (index?.masks?.length !== rules.length || index.extras?.length !== rules.length) return undefined;
    if (!rememberQueryDigests(rules, digests)) return undefined;
    // The cold part (8.6 MB for the installed set) is read and checked when first needed. What the
    // reader keeps is what it needs: neither the snapshot's metadata (2,193 paths and their stat
    // data for the installed set) nor the buffer its first part was read into (2.1 MB).
    const sha256 = found.meta.payload.cold;
    const readCold = found.cold;
    const count = rules.length;
    attachColdFields(
      rules,
      () => {
        const cold = readCold();
        if (cold !== null && digest(cold) === sha256) {
          try {
            const values = deserialize(cold) as ColdValues[];
            if (Array.isArray(values) && values.length === count) return values;
          } catch {
            // Not what splitColdFields wrote: as damaged.
          }
        }
        const values = recover();
        if (values.length !== count) throw new Error(`the rule-set snapshot's cold part is damaged, and loading the rule files again gave ${values.length} rules instead of ${count}`);
        return values;
      },
      index,
    );
    return value;
  } catch {
    return undefined;
  }
}

/** Writes a snapshot atomically (temporary file, then rename); false when it could not. */
function writeSnapshot(file: string, meta: SnapshotMeta, payload: Buffer): boolean {
  return writeCacheFile(file, Buffer.concat([Buffer.from(JSON.stringify(meta) + '\n'), payload]), '.snap', KEEP_SNAPSHOTS);
}

