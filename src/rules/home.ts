// The rule sets a user has installed with `eqlite rules update`, and the default rule set of
// `hunt`, `validate`, `serve`, `explain` and `rules list`.
//
// Layout of the rules home (`$EQLITE_RULES_HOME`, else `$XDG_DATA_HOME/eqlite/rules`, else
// `~/.local/share/eqlite/rules`):
//
//   current                      the name of the release in use (one line)
//   <release>/manifest.json      where it came from, checksums, every rule's file and digest
//   <release>/rules/…            detection-rules TOML, as published
//   <release>/rules_building_block/…
//   <release>/LICENSE.txt, NOTICE.txt
//
// The package itself is never written to: it keeps its bundled seed rule (`rules/`), which is the
// default when nothing is installed.
import { existsSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultRulesDir, loadPlanned, loadRules, planRuleFiles, type Listing, type LoadOptions, type LoadResult, type LoadStep } from './load.js';
import { cachedRuleLoad, type RuleCarrier } from './snapshot.js';
import type { Rule } from './types.js';
import { countInto } from '../util/own.js';

export const RULES_HOME_ENV = 'EQLITE_RULES_HOME';
export const MANIFEST_FILE = 'manifest.json';
export const CURRENT_FILE = 'current';

/** One rule of an installed release, as recorded in its manifest. */
export interface ManifestRule {
  name: string;
  /** Path relative to the release directory. */
  file: string;
  /** sha256 of the rule file. */
  sha256: string;
  type: string;
  version?: number;
  maturity?: string;
  /** eqlite runs it by default: EQL, production maturity, not deprecated, compiles. */
  runnable: boolean;
}

export interface ReleaseManifest {
  format: 1;
  release: string;
  /** What was given to `rules update` (URL, archive path or directory). */
  source: string;
  source_kind: 'url' | 'archive' | 'directory';
  /** sha256 of the downloaded or given archive. */
  archive_sha256?: string;
  /** Digest of the rule files (see contentDigest in install.ts): the same for any packaging. */
  content_sha256: string;
  /** True when the content digest was checked against a digest known to eqlite. */
  verified_digest: boolean;
  installed_at: string;
  eqlite_version: string;
  license_files: string[];
  counts: {
    files: number;
    rules: number;
    runnable: number;
    by_type: Record<string, number>;
    deprecated: number;
    /**
     * The deprecated rules among by_type, by type, so that a report of what does not run counts each
     * rule once (a deprecated query rule is "deprecated", not also "query"). Absent in manifests
     * written before it was added.
     */
    deprecated_by_type?: Record<string, number>;
    not_production: number;
    invalid: number;
  };
  rules: Record<string, ManifestRule>;
}

export interface InstalledRelease {
  name: string;
  dir: string;
  manifest: ReleaseManifest;
}

export interface RulesHomeOptions {
  /** Overrides the environment (`--rules-home`). */
  home?: string;
  env?: NodeJS.ProcessEnv;
}

/** The directory holding installed rule sets. */
export function rulesHome(opts: RulesHomeOptions = {}): string {
  if (opts.home) return path.resolve(opts.home);
  const env = opts.env ?? process.env;
  if (env[RULES_HOME_ENV]) return path.resolve(env[RULES_HOME_ENV]!);
  const data = env['XDG_DATA_HOME'] && path.isAbsolute(env['XDG_DATA_HOME']) ? env['XDG_DATA_HOME'] : path.join(os.homedir(), '.local', 'share');
  return path.join(data, 'eqlite', 'rules');
}

/** Reads a release's manifest; null when the directory holds none or it is not ours. */
export function readManifest(dir: string): ReleaseManifest | null {
  try {
    return parseManifest(readFileSync(path.join(dir, MANIFEST_FILE)));
  } catch {
    return null;
  }
}

function parseManifest(bytes: Buffer): ReleaseManifest | null {
  try {
    const m = JSON.parse(bytes.toString('utf8')) as ReleaseManifest;
    return m && m.format === 1 && typeof m.release === 'string' && typeof m.rules === 'object' ? m : null;
  } catch {
    return null;
  }
}

/**
 * The release in use, or null when none is installed. A `current` file naming a release that is
 * missing or damaged is an error: silently falling back to the seed rule would hide detections.
 */
export function currentRelease(opts: RulesHomeOptions = {}): InstalledRelease | null {
  const located = currentReleaseDir(opts);
  if (!located) return null;
  const manifest = readManifest(located.dir);
  if (!manifest) throw damagedRelease(located.dir);
  return { ...located, manifest };
}

/** The release `current` names, its manifest not read; null when none is installed. */
function currentReleaseDir(opts: RulesHomeOptions): { name: string; dir: string } | null {
  const home = rulesHome(opts);
  let name: string;
  try {
    name = readFileSync(path.join(home, CURRENT_FILE), 'utf8').trim();
  } catch {
    return null;
  }
  return name === '' ? null : { name, dir: path.join(home, name) };
}

function damagedRelease(dir: string): RuleSetError {
  return new RuleSetError(
    `the installed rule set ${dir} is missing or damaged (no readable ${MANIFEST_FILE}); run \`eqlite rules update\` to reinstall, or \`eqlite rules remove\` to use the bundled rule`,
  );
}

export class RuleSetError extends Error {
  override name = 'RuleSetError';
}

/** The folders of an installed release that hold rules. */
export function releaseRulePaths(dir: string): string[] {
  return ['rules', 'rules_building_block'].map((d) => path.join(dir, d)).filter((p) => existsSync(p) && statSync(p).isDirectory());
}

export interface RuleSetInfo {
  kind: 'installed' | 'bundled' | 'given';
  /** For people: `Elastic detection-rules detection-rules-14cf530f (installed 2026-…)`. */
  description: string;
  release?: InstalledRelease;
  /** Rules of the installed release eqlite does not run by default (other types, not production). */
  notRun?: { byType: Record<string, number>; notProduction: number };
  /** Set when the bundled seed rule is used because nothing is installed. */
  hint?: string;
}

export interface LoadedRuleSet extends LoadResult {
  set: RuleSetInfo;
}

export const INSTALL_HINT = 'only the bundled seed rule is used; `eqlite rules update` installs Elastic\'s EQL rule set (about 1,000 rules)';

/** What a loaded release is (the rules it runs, counts of the others, what its manifest says). */
interface LoadedRelease {
  loaded: LoadResult;
  byType: Record<string, number>;
  notProduction: number;
  about: Pick<ReleaseManifest, 'release' | 'installed_at' | 'source'>;
}

/** Where a loaded release keeps its rules (for the snapshot's cold fields, see snapshot.ts). */
const RELEASE_RULES: RuleCarrier<LoadedRelease> = {
  rules: (v) => v.loaded.rules,
  withRules: (v, rules) => ({ ...v, loaded: { ...v.loaded, rules } }),
};

/**
 * Loads the rules a command runs: the given paths, else the installed release (its production
 * EQL rules), else the bundled seed rule.
 */
export function loadRuleSet(paths: string[] | undefined, opts: RulesHomeOptions & LoadOptions = {}): LoadedRuleSet {
  if (paths && paths.length > 0) {
    return { ...loadRules(paths, opts), set: { kind: 'given', description: paths.join(', ') } };
  }
  const located = currentReleaseDir(opts);
  if (!located) {
    const dir = defaultRulesDir();
    return { ...loadRules([dir], opts), set: { kind: 'bundled', description: `bundled rules (${dir})`, hint: INSTALL_HINT } };
  }
  // The manifest is the first file of the load: a snapshot of it holds what the manifest says
  // (the release's name, source and date), so that while it is unchanged it is not parsed again
  // (750 kB for Elastic's set).
  const manifestFile = path.join(located.dir, MANIFEST_FILE);
  const ruleDirs = releaseRulePaths(located.dir);
  const plan = (listing?: Listing): LoadStep[] => {
    let stat;
    try {
      stat = statSync(manifestFile);
    } catch {
      throw damagedRelease(located.dir);
    }
    return [{ file: manifestFile, stat }, ...planRuleFiles(ruleDirs, listing)];
  };
  // The release holds every rule type; only its production EQL rules run. What is kept is
  // snapshotted with the filtering done (about half the files are other types).
  const load = (steps: readonly LoadStep[], read: (file: string) => Buffer): LoadedRelease => {
    let manifest: ReleaseManifest | null = null;
    try {
      manifest = parseManifest(read(manifestFile));
    } catch {
      // Unreadable: reported below.
    }
    if (!manifest) throw damagedRelease(located.dir);
    const all = loadPlanned(steps.slice(1), opts, read);
    const byType: Record<string, number> = {};
    let notProduction = 0;
    const rules: Rule[] = [];
    for (const r of all.rules) {
      if (r.unsupported || r.type !== 'eql') countInto(byType, r.type);
      else if (r.origin.maturity !== undefined && r.origin.maturity !== 'production') notProduction++;
      else rules.push(r);
    }
    return { loaded: { ...all, rules }, byType, notProduction, about: { release: manifest.release, installed_at: manifest.installed_at, source: manifest.source } };
  };
  const { loaded, byType, notProduction, about } =
    opts.cache !== undefined
      ? cachedRuleLoad(opts.cache, 'installed-release', [manifestFile, ...ruleDirs], { includeDeprecated: opts.includeDeprecated === true }, plan, load, RELEASE_RULES)
      : load(plan(), readFileSync);
  return {
    ...loaded,
    set: {
      kind: 'installed',
      description: `${about.release} (installed ${about.installed_at.slice(0, 10)} from ${about.source}; ${located.dir})`,
      release: lazyRelease(located.name, located.dir),
      notRun: { byType, notProduction },
    },
  };
}

/** An InstalledRelease whose manifest is read when first asked for (a hunt does not need it). */
function lazyRelease(name: string, dir: string): InstalledRelease {
  let manifest: ReleaseManifest | undefined;
  return {
    name,
    dir,
    get manifest(): ReleaseManifest {
      manifest ??= readManifest(dir) ?? undefined;
      if (manifest === undefined) throw damagedRelease(dir);
      return manifest;
    },
  };
}
