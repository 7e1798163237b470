// `--mapping FILE` of query, hunt, explain and serve: an index mapping as Elasticsearch's
// `GET <index>/_mapping` returns it (see engine/mapping.ts for what it decides).
import { loadIndexMappings, type IndexMappings } from '../engine/mapping.js';
import { UserError } from './errors.js';

/** Reads and parses the file; a file that cannot be read or is no mapping is a usage error. */
export function readMappingOption(file: string): IndexMappings {
  try {
    return loadIndexMappings(file);
  } catch (e) {
    throw new UserError(`--mapping ${file}: ${(e as Error).message}`, 2);
  }
}

export const MAPPING_OPTION_HELP =
  "the index mapping, as Elasticsearch's GET <index>/_mapping returns it: fields, types, aliases and text fields decide as in Elasticsearch";
