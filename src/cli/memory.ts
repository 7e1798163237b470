// `--memory SIZE`, shared by hunt and query: the budget for sorting inputs that are out of time
// order beyond the reorder window (events/external-sort.ts).
import { InvalidArgumentError, Option } from 'commander';
import { DEFAULT_SORT_MEMORY } from '../events/external-sort.js';

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Parses `512M`, `2g`, `64KiB`, `1048576`: bytes (at least 1 MiB). */
export function parseMemory(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?$/i.exec(v.trim());
  if (!m) throw new InvalidArgumentError('expected a size such as 512M, 2G or 64K');
  const bytes = Math.floor(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!);
  if (bytes < 64 * 1024) throw new InvalidArgumentError('expected at least 64K');
  return bytes;
}

export function formatBytes(n: number): string {
  if (n >= 1024 ** 3 && n % 1024 ** 3 === 0) return `${n / 1024 ** 3} GiB`;
  if (n >= 1024 ** 2) return `${Math.round((n / 1024 ** 2) * 10) / 10} MiB`;
  return `${Math.round((n / 1024) * 10) / 10} KiB`;
}

export function memoryOption(): Option {
  return new Option(
    '--memory <size>',
    `memory budget for sorting inputs that are out of time order beyond the reorder window; beyond it the sort uses temporary files in $TMPDIR (default ${formatBytes(DEFAULT_SORT_MEMORY)})`,
  ).argParser(parseMemory);
}
