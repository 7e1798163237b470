// Transform used by evtx-parallel.test.ts; loaded inside the worker threads (as .ts, via tsx).
import type { RawWindowsEvent } from '../src/evtx/types.js';
import { isMainThread } from 'node:worker_threads';

export function tag(raw: RawWindowsEvent, opts?: { prefix: string; failOn?: string }): { id: string; main: boolean } | null {
  if (raw.System.EventRecordID === opts?.failOn) throw new Error(`refusing ${opts.failOn}`);
  if (raw.System.EventRecordID === 'drop') return null;
  return { id: `${opts?.prefix}:${raw.System.EventRecordID}`, main: isMainThread };
}
