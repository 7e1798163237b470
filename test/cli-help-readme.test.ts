// `eqlite <command> --help` and the README say the same: every option of every command (and
// subcommand) is documented in that command's README section, every option the README's tables
// list exists, and the defaults agree — both the defaults commander prints ("(default: "auto")")
// and the numbers a help text gives as its default ("default: adaptive, 256 per input growing to
// 4000").
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command, type Option } from 'commander';
import { describe, expect, it } from 'vitest';
import { readmeSection as section, repoRoot } from './cli-helpers.js';
import { registerConvert } from '../src/cli/convert.js';
import { registerExplain } from '../src/cli/explain.js';
import { registerGenerate } from '../src/cli/generate.js';
import { registerHunt } from '../src/cli/hunt.js';
import { registerQuery } from '../src/cli/query.js';
import { registerRules } from '../src/cli/rules.js';
import { registerServe } from '../src/cli/serve.js';
import { registerTest } from '../src/cli/test.js';
import { registerUi } from '../src/cli/ui.js';
import { registerValidate } from '../src/cli/validate.js';

const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');

// Where a user looks for each command's options.
const SECTIONS: Record<string, string> = {
  hunt: '### `eqlite hunt`',
  query: '### `eqlite query`',
  validate: '### `eqlite validate`',
  rules: '### `eqlite rules`',
  test: '### `eqlite test`',
  explain: '### `eqlite explain`',
  convert: '### `eqlite convert`',
  generate: '### `eqlite generate`',
  serve: '## Live detection: `eqlite serve`',
  ui: '## Web UI',
};
const selection = section(readme, '#### Rule selection');

function program(): Command {
  const p = new Command('eqlite');
  for (const register of [registerHunt, registerQuery, registerValidate, registerConvert, registerGenerate, registerRules, registerTest, registerExplain, registerServe, registerUi]) register(p);
  return p;
}

interface Cmd {
  name: string;
  cmd: Command;
}
function commands(c: Command, prefix = ''): Cmd[] {
  const out: Cmd[] = [];
  for (const sub of c.commands) {
    const name = `${prefix}${sub.name()}`;
    out.push({ name, cmd: sub }, ...commands(sub, `${name} `));
  }
  return out;
}
const all = commands(program());
const SELECTION_FLAGS = new Set(['--rule-id', '--rule-name', '--tag', '--tactic', '--technique', '--severity', '--data-source', '--exclude-rule']);

/**
 * The README lines that mention an option (`--flag`, `--flag <v>`, in a table, a synopsis or
 * prose), each with the line after it: a sentence that names the option may wrap before its default.
 */
function linesNaming(text: string, flag: string): string[] {
  const re = new RegExp(`(\`|\\[|^|\\s)${flag.replace(/-/g, '\\-')}(?![\\w-])`);
  const lines = text.split('\n');
  return lines.flatMap((l, i) => (re.test(l) ? [`${l} ${lines[i + 1] ?? ''}`] : []));
}

/** `(default: adaptive, 256 per input growing to 4000 …)` → ['256', '4000']: numbers a help text gives as the default. */
function helpDefaultNumbers(description: string): string[] {
  const m = /\bdefault:? ([^;)]*)/.exec(description);
  return m ? [...m[1]!.matchAll(/\d+(?:\.\d+)?/g)].map((x) => x[0]) : [];
}

const withCommas = (n: string) => n.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
const mentions = (line: string, value: string) => line.includes(value) || line.includes(withCommas(value));

describe('--help and the README agree', () => {
  it('the README\'s command list gives each command\'s --help description', () => {
    const block = section(readme, '## Commands').split('```')[1]!;
    const shown = new Map<string, string>();
    for (const line of block.split('\n')) {
      const m = /^eqlite ((?:serve keys)|\w+)\S*(?: \S+)*?\s{2,}(.+)$/.exec(line);
      if (m) shown.set(m[1]!, m[2]!);
    }
    const expected = new Map(all.filter((c) => !c.name.includes(' ') || c.name === 'serve keys').map((c) => [c.name, c.cmd.description()]));
    expect(Object.fromEntries(shown)).toEqual(Object.fromEntries(expected));
  });

  it('every command has a README section', () => {
    for (const { name } of all) expect(SECTIONS[name.split(' ')[0]!], name).toBeDefined();
  });

  for (const { name, cmd } of all) {
    it(`eqlite ${name}: every option is documented where the README describes the command, with the same default`, () => {
      const text = section(readme, SECTIONS[name.split(' ')[0]!]!);
      const problems: string[] = [];
      for (const o of cmd.options as Option[]) {
        const flag = o.long ?? o.short!;
        // The selection options are described once, in "Rule selection", which the section links.
        const where = SELECTION_FLAGS.has(flag) && text.includes('(#rule-selection)') ? selection : text;
        const lines = linesNaming(where, o.negate ? flag : flag);
        if (lines.length === 0) {
          problems.push(`${flag} is not in the README section ${SECTIONS[name.split(' ')[0]!]}`);
          continue;
        }
        const defaults = [...(o.defaultValue !== undefined && typeof o.defaultValue !== 'boolean' ? [String(o.defaultValue)] : []), ...helpDefaultNumbers(o.description)];
        for (const d of defaults) {
          if (!lines.some((l) => mentions(l, d))) problems.push(`${flag}: --help gives the default ${JSON.stringify(d)}, the README's lines for it do not:\n    ${lines.join('\n    ')}`);
        }
      }
      expect(problems).toEqual([]);
    });
  }

  it('every option in the README\'s usage lines exists (`eqlite validate [RULES...] [--strict] …` and the command list)', () => {
    // A usage line is a code-block line that starts with `eqlite <command>` and is not a `$ `
    // example (those are run by readme-examples.test.ts); lines indented under it continue it. In
    // the command list only the part before the description (two or more spaces) is usage.
    const byName = new Map(all.map((c) => [c.name, c.cmd]));
    const problems: string[] = [];
    let checked = 0;
    const lines = readme.split('\n');
    let inBlock = false;
    let current: { name: string; cmds: Command[] } | null = null;
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i]!;
      if (l.startsWith('```')) {
        inBlock = !inBlock;
        current = null;
        continue;
      }
      if (!inBlock) continue;
      let usage: string;
      const head = /^eqlite ([a-z]+)(?: ([a-z]+)(?: ([a-z]+))?)?(?![:\w])/.exec(l);
      if (head) {
        // The deepest command the line names: `eqlite serve keys create` → serve keys create.
        const words = [head[1]!, head[2], head[3]].filter((w): w is string => w !== undefined);
        const cmds: Command[] = [];
        let name = '';
        for (let n = words.length; n >= 1; n--) {
          const c = byName.get(words.slice(0, n).join(' '));
          if (c) cmds.push(c);
          if (c && name === '') name = words.slice(0, n).join(' ');
        }
        if (cmds.length === 0) {
          current = null;
          continue;
        }
        current = { name, cmds };
        usage = l.split(/ {2,}/)[0]!;
      } else if (current && /^\s+\S/.test(l)) usage = l;
      else {
        current = null;
        continue;
      }
      for (const m of usage.matchAll(/(?<![\w-])(--?[a-z][\w-]*)/g)) {
        const flag = m[1]!;
        checked++;
        // An option of the command named or of a command above it (`serve keys create --data`).
        const known = current.cmds.some((c) => (c.options as Option[]).some((o) => o.long === flag || o.short === flag || (o.negate && o.long === flag)));
        if (!known && flag !== '--help') problems.push(`README.md:${i + 1}: ${flag} is not an option of eqlite ${current.name} (${usage.trim().slice(0, 70)})`);
      }
    }
    expect(problems).toEqual([]);
    // The usage lines of validate, rules, explain, convert, serve and ui name about 40 options.
    expect(checked).toBeGreaterThan(30);
  });

  it('every option in the README\'s option tables exists', () => {
    const problems: string[] = [];
    for (const [name, heading] of Object.entries(SECTIONS)) {
      const cmds = all.filter((c) => c.name === name || c.name.startsWith(`${name} `));
      const known = new Set(cmds.flatMap((c) => (c.cmd.options as Option[]).flatMap((o) => [o.long, o.short]).filter((f): f is string => f !== undefined)));
      for (const line of section(readme, heading).split('\n')) {
        // Option tables: the first cell names the options, e.g. | `-r, --rules <path>` | … | or | `--rule-id`, `--tag` | … |
        const cell = /^\| *(`-[^|]*)\|/.exec(line)?.[1];
        if (!cell) continue;
        for (const f of cell.matchAll(/(?<![\w-])(--?[a-z][\w-]*)/g)) if (!known.has(f[1]!) && f[1] !== '--help') problems.push(`${name}: ${f[1]} (${line.slice(0, 60)}…)`);
      }
    }
    expect(problems).toEqual([]);
  });
});
