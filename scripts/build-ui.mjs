// Builds the web UI (ui/) into dist/ui: one bundled, minified script and stylesheet (esbuild; the
// libraries come from node_modules, nothing from a CDN) and the two HTML pages. The server fills
// in __BASE__ (its path prefix), __VERSION__ (cache busting) and the login page's fields.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist', 'ui');
const assets = path.join(out, 'assets');
mkdirSync(assets, { recursive: true });

const common = { bundle: true, minify: true, sourcemap: true, logLevel: 'warning', legalComments: 'linked' };
await build({ ...common, entryPoints: [path.join(root, 'ui/src/main.ts')], outfile: path.join(assets, 'app.js'), format: 'esm', target: ['chrome110', 'firefox110', 'safari16'] });
await build({ ...common, entryPoints: [path.join(root, 'ui/src/styles.css')], outfile: path.join(assets, 'app.css') });
await build({ ...common, entryPoints: [path.join(root, 'ui/src/login.css')], outfile: path.join(assets, 'login.css'), sourcemap: false });
copyFileSync(path.join(root, 'ui/favicon.svg'), path.join(assets, 'favicon.svg'));

const hash = createHash('sha256');
for (const f of ['app.js', 'app.css', 'login.css']) hash.update(readFileSync(path.join(assets, f)));
const version = hash.digest('hex').slice(0, 12);
for (const page of ['index.html', 'login.html']) {
  writeFileSync(path.join(out, page), readFileSync(path.join(root, 'ui', page), 'utf8').replaceAll('__VERSION__', version));
}
