// Windows command-line splitting, as CommandLineToArgvW (and the MSVC runtime) do it. Sysmon's
// ECS mapping and Elastic Defend both fill process.args this way, so generated events must too.

/**
 * Splits a Windows command line into arguments.
 * - The program name (first argument) ends at the closing quote when it starts with one, otherwise
 *   at the first space or tab; backslashes in it are literal.
 * - Later arguments: 2n backslashes before a quote give n backslashes and the quote toggles quoting;
 *   2n+1 backslashes before a quote give n backslashes and a literal quote; backslashes not before a
 *   quote are literal; inside quotes, `""` is a literal quote.
 */
export function splitWindowsCommandLine(cmd: string): string[] {
  const args: string[] = [];
  let i = 0;
  const n = cmd.length;
  while (i < n && (cmd[i] === ' ' || cmd[i] === '\t')) i++;
  if (i >= n) return args;

  // Program name.
  let prog = '';
  if (cmd[i] === '"') {
    i++;
    while (i < n && cmd[i] !== '"') prog += cmd[i++];
    if (i < n) i++;
  } else {
    while (i < n && cmd[i] !== ' ' && cmd[i] !== '\t') prog += cmd[i++];
  }
  args.push(prog);

  for (;;) {
    while (i < n && (cmd[i] === ' ' || cmd[i] === '\t')) i++;
    if (i >= n) break;
    let arg = '';
    let quoted = false;
    while (i < n) {
      const c = cmd[i]!;
      if (!quoted && (c === ' ' || c === '\t')) break;
      if (c === '\\') {
        let slashes = 0;
        while (i < n && cmd[i] === '\\') {
          slashes++;
          i++;
        }
        if (i < n && cmd[i] === '"') {
          arg += '\\'.repeat(slashes >> 1);
          if (slashes & 1) {
            arg += '"';
            i++;
          }
          // An even count leaves the quote to be handled as a delimiter on the next turn.
        } else {
          arg += '\\'.repeat(slashes);
        }
        continue;
      }
      if (c === '"') {
        if (quoted && cmd[i + 1] === '"') {
          arg += '"';
          i += 2;
          continue;
        }
        quoted = !quoted;
        i++;
        continue;
      }
      arg += c;
      i++;
    }
    args.push(arg);
  }
  return args;
}
