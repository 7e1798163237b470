// Where eqlite keeps what it can recompute but would rather not (the rules' outlines, see
// engine/outline.ts): `$EQLITE_CACHE_HOME`, else `$XDG_CACHE_HOME/eqlite`, else ~/.cache/eqlite.
// EQLITE_CACHE_HOME=off turns caching off.
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
