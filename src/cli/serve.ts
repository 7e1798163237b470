// `eqlite serve`: the live detection service (src/serve), and `eqlite serve keys …` to manage its
// API keys and users (written to <data>/state.sqlite, also while the service runs).
import { MAPPING_OPTION_HELP, readMappingOption } from './mapping-option.js';
import { createWriteStream, existsSync, openSync } from 'node:fs';
import { ioReason } from '../util/files.js';
import { Command, InvalidArgumentError } from 'commander';
import pino from 'pino';
import { CredentialStore, parseRole, type Role } from '../serve/auth.js';
import { ConfigError, DEFAULT_DATA, DEFAULT_LISTEN, defaultClusterConfig, defaultConfig, loadConfigFile, parseDuration, parseListen, parseRoles, parseServers, type ServeConfig } from '../serve/config.js';
import { Service } from '../serve/service.js';
import { openStateDb } from '../serve/state.js';
import { UserError } from './errors.js';
import { hasSelection } from '../rules/select.js';
import { addSelectionOptions, selectionFromOptions, type SelectionCliOptions } from './rule-selection.js';

export interface ServeCliOptions extends SelectionCliOptions {
  data?: string;
  listen?: string;
  rules?: string[];
  config?: string;
  tlsCert?: string;
  tlsKey?: string;
  pathPrefix?: string;
  realtime?: boolean;
  logLevel?: string;
  valueList?: string[];
  mapping?: string;
  cluster?: string;
  nodeId?: string;
  roles?: string;
}

const collectList = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];

/** The effective configuration: defaults, then the config file, then the flags. */
export function resolveConfig(o: ServeCliOptions): ServeConfig {
  try {
    const c = o.config ? loadConfigFile(o.config) : defaultConfig();
    if (o.data !== undefined) c.data = o.data;
    if (o.listen !== undefined) Object.assign(c, parseListen(o.listen));
    if (o.rules !== undefined) c.rules = o.rules;
    if (o.valueList !== undefined) c.valueLists = o.valueList;
    if (o.mapping !== undefined) c.mapping = o.mapping;
    const selection = selectionFromOptions(o);
    if (hasSelection(selection)) c.selection = selection;
    if (o.tlsCert !== undefined || o.tlsKey !== undefined) {
      if (!o.tlsCert || !o.tlsKey) throw new ConfigError('--tls-cert and --tls-key go together');
      c.tls = { cert: o.tlsCert, key: o.tlsKey };
    }
    if (o.realtime === false) c.detection.realtime = false;
    if (o.cluster !== undefined) c.cluster = { ...(c.cluster ?? defaultClusterConfig()), servers: parseServers(o.cluster, '--cluster') };
    if ((o.nodeId !== undefined || o.roles !== undefined) && !c.cluster) throw new ConfigError('--node-id and --roles need --cluster (or a [cluster] table in the config file)');
    if (o.nodeId !== undefined) c.cluster!.nodeId = o.nodeId;
    if (o.roles !== undefined) c.cluster!.roles = parseRoles(o.roles, '--roles');
    if (o.logLevel !== undefined) c.log.level = o.logLevel;
    return c;
  } catch (e) {
    if (e instanceof ConfigError) throw new UserError(e.message, 2);
    throw e;
  }
}

/**
 * The service's log file, opened now (a missing directory is one line and exit 2 before the
 * service starts, not an unhandled 'error' event's stack trace). A later write error (a full
 * disk) is said once on stderr; the service goes on, as a service whose log cannot be written must.
 */
function openLogFile(file: string): NodeJS.WritableStream {
  let fd: number;
  try {
    fd = openSync(file, 'a');
  } catch (e) {
    throw new UserError(`cannot write the log file ${file}: ${ioReason(e)}`, 2);
  }
  const out = createWriteStream(file, { fd });
  let said = false;
  out.on('error', (e) => {
    if (said) return;
    said = true;
    process.stderr.write(`eqlite serve: cannot write the log file ${file}: ${ioReason(e)}; later log lines are lost (the service goes on)\n`);
  });
  return out;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

async function runServe(o: ServeCliOptions): Promise<void> {
  const config = resolveConfig(o);
  // A rule path or value list that does not exist is a typo: exit 2 at start, as hunt does, rather
  // than a service that runs without those rules (later reloads log unreadable files and go on).
  for (const p of config.rules) if (!existsSync(p)) throw new UserError(`cannot read rules ${p}: no such file or directory`, 2);
  for (const p of config.valueLists) if (!existsSync(p)) throw new UserError(`cannot read value list ${p}: no such file or directory`, 2);
  // A mapping that cannot be read or is no mapping stops the start (exit 2), as in hunt.
  if (config.mapping !== null) readMappingOption(config.mapping);
  const dest = config.log.file ? openLogFile(config.log.file) : process.stdout;
  const log = pino({ level: config.log.level, base: { service: 'eqlite' } }, dest);
  let svc: Service;
  try {
    svc = await Service.start({ config, log, pathPrefix: o.pathPrefix });
  } catch (e) {
    if (e instanceof ConfigError) throw new UserError(e.message, 2);
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new UserError(`cannot listen on ${config.host}:${config.port}: the address is in use`, 2);
    if (code === 'EACCES') throw new UserError(`cannot listen on ${config.host}:${config.port}: permission denied`, 2);
    if (code === 'EADDRNOTAVAIL') throw new UserError(`cannot listen on ${config.host}:${config.port}: no such local address`, 2);
    if (code && /^(SQLITE_(CANTOPEN|READONLY|PERM|IOERR)|EACCES|EROFS|EPERM|ENOSPC)/.test(code)) {
      throw new UserError(`cannot use the data directory ${config.data}: ${(e as Error).message} (${code}); it must be writable`, 2);
    }
    throw e;
  }
  if (!isLoopback(config.host) && !svc.credentials.required()) {
    log.warn({ listen: `${config.host}:${config.port}` }, 'listening beyond this machine without credentials: anyone who can reach it can send events and read alerts; create a key with `eqlite serve keys create`');
  }
  log.info({ url: svc.url, data: config.data }, `eqlite serve listening on ${svc.url}`);
  process.stderr.write(`eqlite serve: listening on ${svc.url} (data: ${config.data})\n`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    svc
      .close()
      .then(() => process.exit(0))
      .catch((e: Error) => {
        log.error({ err: e.message }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  await new Promise(() => undefined);
}

function parseRoleArg(v: string): Role {
  try {
    return parseRole(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

function registerKeys(serve: Command): void {
  const keys = serve.command('keys').description('create, list and revoke API keys and users of `eqlite serve` (stored hashed in <data>/state.sqlite)');
  // `--data` is the `serve` option (commander gives it to the parent wherever it is written).
  const dataOpt = (c: Command) => c;
  const open = (cmd: Command) => new CredentialStore(openStateDb((cmd.optsWithGlobals() as { data?: string }).data ?? DEFAULT_DATA));

  dataOpt(keys.command('create').description('create an API key (printed once; send it as "Authorization: ApiKey <encoded>")'))
    .option('--name <name>', 'name of the key (shown by list)', 'eqlite')
    .option('--role <role>', 'ingest (shippers: _bulk only), read (searches, alerts, rules) or admin', parseRoleArg, 'ingest' as Role)
    .option('--expires <duration>', 'lifetime, e.g. 90d (default: never)')
    .option('--json', 'print the key as JSON')
    .action(async (o: { name: string; role: Role; expires?: string; json?: boolean }, cmd: Command) => {
      let expires: number | undefined;
      if (o.expires !== undefined) {
        try {
          expires = parseDuration(o.expires, '--expires');
        } catch (e) {
          throw new UserError((e as Error).message, 2);
        }
      }
      const k = await open(cmd).createApiKey(o.name, o.role, expires);
      if (o.json) {
        process.stdout.write(JSON.stringify(k) + '\n');
        return;
      }
      process.stdout.write(
        `id:       ${k.id}\napi_key:  ${k.api_key}\nencoded:  ${k.encoded}\nrole:     ${k.role}\n` +
          (k.expiration ? `expires:  ${new Date(k.expiration).toISOString()}\n` : '') +
          `\nBeats / Elastic Agent:  api_key: "${k.id}:${k.api_key}"\nHTTP header:            Authorization: ApiKey ${k.encoded}\n`,
      );
    });

  dataOpt(keys.command('add-user').description('create or replace a user for HTTP basic authentication').argument('<name>'))
    .option('--role <role>', 'ingest, read or admin', parseRoleArg, 'read' as Role)
    .option('--password <password>', 'the password (prefer --password-stdin)')
    .option('--password-stdin', 'read the password from stdin')
    .action(async (name: string, o: { role: Role; password?: string; passwordStdin?: boolean }, cmd: Command) => {
      const password = o.passwordStdin ? await readStdin() : o.password;
      if (password === undefined) throw new UserError('give the password with --password-stdin (or --password)', 2);
      try {
        await open(cmd).setUser(name, password, o.role);
      } catch (e) {
        throw new UserError((e as Error).message, 2);
      }
      process.stdout.write(`user ${name} (${o.role}) saved\n`);
    });

  dataOpt(keys.command('list').description('list API keys and users (never their secrets)'))
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }, cmd: Command) => {
      const list = open(cmd).list();
      if (o.json) {
        process.stdout.write(JSON.stringify(list) + '\n');
        return;
      }
      if (list.length === 0) {
        process.stdout.write('no API keys or users\n');
        return;
      }
      const rows = list.map((c) => [c.kind === 'api_key' ? 'api key' : 'user', c.id, c.name, c.role, c.created, c.revoked ? `revoked ${c.revoked}` : c.expires ? `expires ${c.expires}` : 'active']);
      const head = ['kind', 'id', 'name', 'role', 'created', 'state'];
      const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
      const line = (r: string[]) => r.map((x, i) => x.padEnd(w[i]!)).join('  ').trimEnd() + '\n';
      process.stdout.write(line(head) + line(w.map((n) => '-'.repeat(n))) + rows.map(line).join(''));
    });

  dataOpt(keys.command('revoke').description('revoke an API key (by id or name) or remove a user').argument('<id-or-name>')).action((id: string, _o: unknown, cmd: Command) => {
    const n = open(cmd).revoke(id);
    if (n === 0) throw new UserError(`no active API key or user named ${id}`, 1);
    process.stdout.write(`revoked ${n} credential(s)\n`);
  });
}

export function registerServe(program: Command): Command {
  const serve = program
    .command('serve')
    .description('live detection service: an Elasticsearch-compatible endpoint that Beats and Elastic Agent ship to, running every rule on schedule and in real time')
    .option('--data <dir>', `data directory (events, alerts, state; default ${DEFAULT_DATA})`)
    .option('--listen <host:port>', `address to listen on (default ${DEFAULT_LISTEN})`)
    .option('-r, --rules <path>', 'rule file or directory, repeatable, hot-reloaded (default: the installed Elastic rule set, else the bundled rule)', collectList)
    .option('--config <file>', 'TOML configuration file (see README: Live detection)')
    .option('--tls-cert <file>', 'TLS certificate (PEM); with --tls-key serves HTTPS')
    .option('--tls-key <file>', 'TLS private key (PEM)')
    .option('--path-prefix <path>', 'URL prefix in front of every API call (a reverse proxy path or the shippers\' "path" option)')
    .option('--value-list <file>', 'value list for "is in list" exceptions (repeatable)', collectList)
    .option('--mapping <file>', MAPPING_OPTION_HELP)
    .option('--no-realtime', 'run rules on schedule only, not also as events arrive')
    .option('--cluster <urls>', 'run as a node of a cluster on NATS JetStream: the servers, e.g. nats://10.0.0.1:4222,nats://10.0.0.2:4222 (see README: Cluster mode)')
    .option('--node-id <id>', 'this node\'s name in the cluster (default: host name and port)')
    .option('--roles <roles>', 'what this cluster node does: ingest, detect, or both (default)')
    .option('--log-level <level>', 'fatal, error, warn, info (default), debug, trace or silent');
  addSelectionOptions(serve).action(async (o: ServeCliOptions) => {
    await runServe(o);
  });
  registerKeys(serve);
  return serve;
}
