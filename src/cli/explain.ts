// `eqlite explain --rule ID FILES…`: why a rule did (not) fire on these events (src/explain).
import { InvalidArgumentError, Option, type Command } from 'commander';
import { explainRule, ExplainError } from '../explain/explain.js';
import { formatExplanation } from '../explain/format.js';
import { InputError } from '../events/sources.js';
import { loadValueLists } from '../rules/exceptions.js';
import { UserError } from './errors.js';
import { MAPPING_OPTION_HELP, readMappingOption } from './mapping-option.js';
import { loadSelectedRules } from './rule-selection.js';
import { findRule } from './rules.js';
import { escapeText } from '../util/terminal.js';
import { exitOnInterrupt } from './interrupt.js';

export interface ExplainCliOptions {
  rule: string;
  rules?: string[];
  index?: string;
  timestampField?: string;
  valueList?: string[];
  mapping?: string;
  json?: boolean;
  examples?: number;
}

export interface ExplainIo {
  out: (s: string) => void;
  err: (s: string) => void;
}

const collect = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];

function positive(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

/** Returns the exit code: 0 explained (whether or not the rule fired), 2 usage or input errors. */
export async function runExplain(files: string[], o: ExplainCliOptions, io: ExplainIo = { out: (s) => process.stdout.write(escapeText(s)), err: (s) => process.stderr.write(escapeText(s)) }): Promise<number> {
  try {
    const loaded = loadSelectedRules(o.rules, {});
    const rule = findRule(loaded.rules, o.rule);
    let valueLists: Map<string, Set<string>> | undefined;
    try {
      if (o.valueList?.length) valueLists = loadValueLists(o.valueList);
    } catch (e) {
      throw new UserError((e as Error).message, 2); // a missing or unreadable --value-list file
    }
    const mapping = o.mapping === undefined ? undefined : readMappingOption(o.mapping);
    let skipped = 0;
    const x = await explainRule({
      mapping,
      rule,
      inputs: files,
      exceptionLists: loaded.exceptionLists,
      valueLists,
      index: o.index,
      timestampField: o.timestampField,
      examples: o.examples,
      onSkip: (s) => {
        if (++skipped <= 5) io.err(`skipped ${s.position.file}${s.position.line !== undefined ? ':' + s.position.line : ''}: ${s.reason}\n`);
      },
      onWarning: (m) => io.err(`warning: ${m}\n`),
    });
    io.out(o.json ? JSON.stringify(x, null, 2) + '\n' : formatExplanation(x, o.examples));
    return 0;
  } catch (e) {
    if (e instanceof UserError || e instanceof InputError || e instanceof ExplainError) {
      io.err(`error: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

export function registerExplain(program: Command): Command {
  return program
    .command('explain')
    .description('why a rule did (not) fire on these events: per stage and condition, the closest misses, and how partial sequences ended')
    .argument('<files...>', 'files or directories: NDJSON, JSON, Elasticsearch hits, EVTX, Windows XML, NXLog JSON (optionally .gz); "-" for stdin')
    .requiredOption('--rule <rule>', 'rule_id, a unique rule_id prefix, or the exact rule name')
    .option('-r, --rules <path>', 'rule file or directory holding the rule (default: the installed Elastic rule set, else the bundled rule)', collect)
    .option('--index <name>', 'index for events that carry none')
    .option('--timestamp-field <field>', 'field ordering events (default @timestamp)')
    .option('--value-list <file>', 'value list for "is in list" exceptions (repeatable)', collect)
    .option('--mapping <file>', MAPPING_OPTION_HELP)
    .addOption(new Option('--examples <n>', 'examples shown per list (default 5)').argParser(positive))
    .option('--json', 'the explanation as JSON')
    .action(async (files: string[], o: ExplainCliOptions) => {
      const off = exitOnInterrupt((name) => `interrupted (${name}): no explanation was printed (it is printed when every input has been read)`);
      try {
        process.exitCode = await runExplain(files, o);
      } finally {
        off();
      }
    });
}
