// Options shared by the commands that read files: `--threads N` (hunt, query), `--host-ip MODE`
// (hunt, query, convert).
import { InvalidArgumentError, Option } from 'commander';
import type { HostIpMode } from '../events/host-discovery.js';

export type { HostIpMode };

/**
 * `--threads N`. The default differs: a hunt with many rules also shares one large file among
 * threads (parallel/pool.ts plannedThreads), a query never does, so each command's help says its own.
 */
export function threadsOption(command: 'hunt' | 'query'): Option {
  const oneFile =
    command === 'hunt'
      ? '; for a hunt with 100 rules or more over one NDJSON file of 64 MiB or more whose every line is parsed, one fewer than the cores (one per core from 1 GiB), sharing the file in parts with the main thread'
      : '';
  return new Option(
    '--threads <n>',
    `worker threads that read, map and filter the input files (0: main thread only; default: one per core when two or more files of 8 MiB or more hold 64 MiB together${oneFile}; else 0; at most 8)`,
  ).argParser((v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer');
    return n;
  });
}


/**
 * `--host-ip auto|on|off`: whether the discovery pass fills host.ip of Windows events mapped on
 * read (src/events/host-discovery.ts). `auto` means what `autoMeans` says for the command.
 */
export function hostIpOption(autoMeans = 'when a rule (or the query) uses host.ip'): Option {
  return new Option(
    '--host-ip <mode>',
    `host.ip of Windows events read from EVTX, XML, NXLog or raw Winlogbeat documents: the addresses each machine shows as its own in its outbound connections, found by a first pass over the input files (auto: ${autoMeans}; on; off: no host.ip)`,
  )
    .argParser((v: string): HostIpMode => {
      if (v === 'auto' || v === 'on' || v === 'off') return v;
      throw new InvalidArgumentError('expected auto, on or off');
    })
    .default('auto');
}
