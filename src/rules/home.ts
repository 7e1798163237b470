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
import { defaultRulesDir, loadPlanned, loadRules, planRuleFiles, type LoadOptions, type LoadResult } from './load.js';
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
  let text: string;
  try {
    text = readFileSync(path.join(dir, MANIFEST_FILE), 'utf8');
  } catch {
    return null;
  }
  try {
    const m = JSON.parse(text) as ReleaseManifest;
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
  const home = rulesHome(opts);
  let name: string;
  try {
    name = readFileSync(path.join(home, CURRENT_FILE), 'utf8').trim();
  } catch {
    return null;
  }
  if (name === '') return null;
  const dir = path.join(home, name);
  const manifest = readManifest(dir);
  if (!manifest) {
    throw new RuleSetError(
      `the installed rule set ${dir} is missing or damaged (no readable ${MANIFEST_FILE}); run \`eqlite rules update\` to reinstall, or \`eqlite rules remove\` to use the bundled rule`,
    );
  }
  return { name, dir, manifest };
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

/** Where a loaded release keeps its rules (for the snapshot's cold fields, see snapshot.ts). */
const RELEASE_RULES: RuleCarrier<{ loaded: LoadResult; byType: Record<string, number>; notProduction: number }> = {
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
  const release = currentRelease(opts);
  if (!release) {
    const dir = defaultRulesDir();
    return { ...loadRules([dir], opts), set: { kind: 'bundled', description: `bundled rules (${dir})`, hint: INSTALL_HINT } };
  }
  // The release holds every rule type; only its production EQL rules run. What is kept is
  // snapshotted with the filtering done (about half the files are other types).
  const steps = planRuleFiles(releaseRulePaths(release.dir));
  const load = (read: (file: string) => Buffer) => {
    const all = loadPlanned(steps, opts, read);
    const byType: Record<string, number> = {};
    let notProduction = 0;
    const rules: Rule[] = [];
    for (const r of all.rules) {
      if (r.unsupported || r.type !== 'eql') countInto(byType, r.type);
      else if (r.origin.maturity !== undefined && r.origin.maturity !== 'production') notProduction++;
      else rules.push(r);
    }
    return { loaded: { ...all, rules }, byType, notProduction };
  };
  const { loaded, byType, notProduction } =
    opts.cache !== undefined ? cachedRuleLoad(opts.cache, 'installed-release', steps, { includeDeprecated: opts.includeDeprecated === true }, load, RELEASE_RULES) : load(readFileSync);
  const m = release.manifest;
  return {
    ...loaded,
    set: {
      kind: 'installed',
      description: `${m.release} (installed ${m.installed_at.slice(0, 10)} from ${m.source}; ${release.dir})`,
      release,
      notRun: { byType, notProduction },
    },
  };
}
