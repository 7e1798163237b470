// Which build of eqlite is running, for caches of what it computed (rule-set snapshots, query
// outlines): anything cached by another build — an upgrade, a rebuild during development, an
// installed eqlite beside a checkout — must not be reused.
//
// The id is a digest of the package version and of the name, size and modification time of every
// module of the package's code (dist/**/*.js when built, src/**/*.ts under tsx or vitest). Stat
// data rather than the modules' text: every build rewrites the files, so any rebuild changes it,
// and it costs one stat per module instead of reading a megabyte and a half of code at start-up.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let id: string | null = null;

/** The running build's id (base64url sha256; computed once per process). */
export function buildId(): string {
  if (id !== null) return id;
  // This file is src/util/build-id.ts or dist/util/build-id.js: its parent's parent is the code root.
  const here = path.dirname(fileURLToPath(import.meta.url));
  const codeRoot = path.dirname(here);
  const ext = path.extname(fileURLToPath(import.meta.url));
  const h = createHash('sha256');
  try {
    h.update(readFileSync(path.join(codeRoot, '..', 'package.json')));
  } catch {
    h.update('no package.json');
  }
  // Paths are joined by hand and hashed in one update: path.join and path.relative for each of
  // ~180 modules were half of this function's time, which every command pays at start-up.
  let listing = '';
  const walk = (dir: string, rel: string, depth: number): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const name = e.name;
      const full = `${dir}/${name}`;
      // ui/ holds browser assets (dist/ui), not code this process runs.
      if (e.isDirectory()) {
        if (depth < 8 && !(depth === 0 && name === 'ui')) walk(full, `${rel}${name}/`, depth + 1);
      } else if (name.endsWith(ext) && !name.endsWith('.d.ts')) {
        try {
          const st = statSync(full);
          listing += `${rel}${name}\0${st.size}\0${st.mtimeMs}\n`;
        } catch {
          // vanished while listing: its name alone still counts
          listing += `${rel}${name}\n`;
        }
      }
    }
  };
  walk(codeRoot, '', 0);
  h.update(listing);
  return (id = h.digest('base64url'));
}
