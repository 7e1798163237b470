// `eqlite ui alerts.db`: browse and triage the alerts of a `hunt --db` store in the web UI (the
// same pages and API as `eqlite serve`, with nothing ingested and nothing run).
import { Command } from 'commander';
import { ConfigError, parseListen } from '../serve/config.js';
import { AlertBrowser, checkAlertStore } from '../serve/ui-mode.js';
import { UserError } from './errors.js';

/** Kibana's port: where analysts' fingers expect the alerts to be. */
export const DEFAULT_UI_LISTEN = '127.0.0.1:5601';

export function registerUi(program: Command): void {
  program
    .command('ui')
    .description('open the web UI over a hunt --db alert store (no ingest, nothing runs); prints the URL to open')
    .argument('<alerts.db>', 'alert store written by eqlite hunt --db')
    .option('--listen <host:port>', 'address to listen on (port 0: any free port)', DEFAULT_UI_LISTEN)
    .option('--path-prefix <path>', 'URL path prefix a reverse proxy adds (e.g. /eqlite)')
    .action(async (file: string, o: { listen: string; pathPrefix?: string }) => {
      let listen: { host: string; port: number };
      try {
        listen = parseListen(o.listen);
      } catch (e) {
        if (e instanceof ConfigError) throw new UserError(e.message, 2);
        throw e;
      }
      const problem = checkAlertStore(file);
      if (problem) throw new UserError(problem, 2);
      let b: AlertBrowser;
      try {
        b = await AlertBrowser.start({ file, ...listen, pathPrefix: o.pathPrefix });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE') throw new UserError(`cannot listen on ${listen.host}:${listen.port}: the address is in use (choose another with --listen 127.0.0.1:PORT)`, 2);
        if (code === 'EACCES' || code === 'EADDRNOTAVAIL') throw new UserError(`cannot listen on ${listen.host}:${listen.port}: ${(e as Error).message}`, 2);
        throw e;
      }
      const loopback = listen.host === 'localhost' || listen.host === '::1' || listen.host.startsWith('127.');
      if (!loopback) process.stderr.write(`warning: listening on ${listen.host} without credentials: anyone who can reach it can read and triage these alerts\n`);
      const prefix = o.pathPrefix ? '/' + o.pathPrefix.replace(/^\/+|\/+$/g, '') : '';
      const alerts = b.queries.count({});
      const blocks = b.alerts.count() - alerts;
      process.stdout.write(`eqlite ui: ${alerts} alert${alerts === 1 ? '' : 's'}${blocks > 0 ? ` (and ${blocks} building block${blocks === 1 ? '' : 's'})` : ''} in ${file}\nopen ${b.url}${prefix}/app/alerts\n(Ctrl+C stops)\n`);
      const stop = () => {
        b.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      await new Promise(() => undefined);
    });
}
