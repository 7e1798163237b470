// Microsoft-Windows-PowerShell/Operational → ECS following the windows integration's
// powershell_operational pipeline: 4103 ContextInfo key/value lines, category "process",
// script block fields for 4104, host process fields and users.
import { type Doc, appendUnique, child, obj, setFileParts, splitCommandLineWindows, splitUser, toLong } from './common.js';
import { own, setOwn } from '../../util/own.js';

/** 4103 ContextInfo: "        Key = Value" lines, merged into event_data (keys lose their spaces below). */
function splitContextInfo(ed: Doc): void {
  if (typeof ed.ContextInfo !== 'string') return;
  for (const line of ed.ContextInfo.split('\n')) {
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (key !== '') setOwn(ed, key, value);
  }
}

const RENAMES: ReadonlyArray<readonly [string, string[]]> = [
  ['ShellID', ['powershell', 'id']],
  ['EngineVersion', ['powershell', 'engine', 'version']],
  ['PipelineID', ['powershell', 'pipeline_id']],
  ['RunspaceID', ['powershell', 'runspace_id']],
  ['RunspaceId', ['powershell', 'runspace_id']],
  ['HostVersion', ['powershell', 'process', 'executable_version']],
  ['CommandLine', ['powershell', 'command', 'value']],
  ['CommandPath', ['powershell', 'command', 'path']],
  ['CommandName', ['powershell', 'command', 'name']],
  ['CommandType', ['powershell', 'command', 'type']],
  ['ScriptBlockId', ['powershell', 'file', 'script_block_id']],
  ['ScriptBlockText', ['powershell', 'file', 'script_block_text']],
];

/** Applies the PowerShell Operational mapping to a beat-stage document in place. */
export function mapPowerShellOperational(doc: Doc): void {
  const winlog = child(doc, 'winlog');
  const event = child(doc, 'event');
  const code = String(winlog.event_id ?? event.code ?? '');
  const src: Doc = obj(winlog.event_data) ?? {};
  if (code === '4103') splitContextInfo(src);
  // Keys such as "Host Application" lose their whitespace ("HostApplication").
  const ed: Doc = {};
  for (const k of Object.keys(src)) setOwn(ed, k.replace(/\s/g, ''), src[k]);

  event.kind = 'event';
  event.code = code;
  event.category = ['process'];
  event.type = [code === '4105' ? 'start' : code === '4106' ? 'end' : 'info'];
  const seq = toLong(ed.SequenceNumber);
  if (seq !== undefined) event.sequence = seq;

  const process: Doc = obj(doc.process) ?? {};
  if (typeof ed.HostID === 'string' && ed.HostID !== '') {
    process.entity_id = ed.HostID;
    delete ed.HostID;
  }
  if (typeof ed.HostApplication === 'string' && ed.HostApplication !== '') {
    process.command_line = ed.HostApplication;
    delete ed.HostApplication;
  }
  if (typeof ed.HostName === 'string' && ed.HostName !== '') {
    process.title = ed.HostName;
    delete ed.HostName;
  }

  const user: Doc = obj(doc.user) ?? {};
  const sid = obj(winlog.user)?.identifier;
  if (typeof sid === 'string' && sid !== '') user.id = sid;
  const u = typeof ed.User === 'string' ? splitUser(ed.User) : undefined;
  if (u) {
    if (u[0] !== '') user.domain = u[0];
    if (u[1] !== '') user.name = u[1];
  }
  if (typeof user.name === 'string') appendUnique(child(doc, 'related'), 'user', user.name);
  const cu = typeof ed.ConnectedUser === 'string' ? splitUser(ed.ConnectedUser) : undefined;
  if (cu) {
    // A remote session: the connected user is the source, the local account the destination.
    const sourceUser = child(child(doc, 'source'), 'user');
    if (cu[0] !== '') sourceUser.domain = cu[0];
    if (cu[1] !== '') sourceUser.name = cu[1];
    if (typeof sourceUser.name === 'string') appendUnique(child(doc, 'related'), 'user', sourceUser.name);
    const destUser = child(child(doc, 'destination'), 'user');
    if (user.domain !== undefined) destUser.domain = user.domain;
    if (user.name !== undefined) destUser.name = user.name;
    delete user.domain;
    delete user.name;
    if (sourceUser.domain !== undefined) user.domain = sourceUser.domain;
    if (sourceUser.name !== undefined) user.name = sourceUser.name;
  }

  const total = toLong(ed.MessageTotal);
  const number = toLong(ed.MessageNumber);
  if (number !== undefined) child(doc, 'powershell').sequence = number;
  if (total !== undefined) child(doc, 'powershell').total = total;
  for (const [key, path] of RENAMES) {
    const v = ed[key];
    if (v === undefined || v === '') continue;
    let o = doc;
    for (let i = 0; i < path.length - 1; i++) o = child(o, path[i]!);
    o[path[path.length - 1]!] = v;
    delete ed[key];
  }

  if (typeof process.command_line === 'string') {
    process.args = splitCommandLineWindows(process.command_line);
    process.args_count = (process.args as string[]).length;
  }
  if (typeof ed.Path === 'string' && ed.Path !== '' && ed.ScriptName === undefined) {
    ed.ScriptName = ed.Path;
    delete ed.Path;
  }
  if (typeof ed.ScriptName === 'string' && ed.ScriptName !== '') {
    const file = child(doc, 'file');
    setFileParts(file, ed.ScriptName);
    file.path = ed.ScriptName;
    delete ed.ScriptName;
  }

  // Payload (4103 invocation details) is kept raw in event_data: its structured parsing is not
  // reproduced, and dropping it would lose the command trace.
  for (const k of ['SequenceNumber', 'User', 'ConnectedUser', 'ContextInfo', 'Severity', 'MessageTotal', 'MessageNumber']) {
    delete ed[k];
  }
  for (const [k, v] of Object.entries(ed)) if (v === null || v === '') delete ed[k];
  if (Object.keys(ed).length > 0) winlog.event_data = ed;
  else delete winlog.event_data;
  if (typeof winlog.level === 'string' && winlog.level !== '') child(doc, 'log').level = winlog.level;
  delete winlog.level;
  delete winlog.time_created;
  if (Object.keys(process).length > 0) doc.process = process;
  if (Object.keys(user).length > 0) doc.user = user;
}

// ---------------------------------------------------------------------------------------------
// The classic "Windows PowerShell" channel (events 400/403 engine state, 600 provider state, 800
// pipeline execution), as the windows integration's `powershell` pipeline maps it: the event data
// is unnamed (param1…param3) and its `key=value` lines carry the details.

/**
 * The pipeline's `kv` processor: fields split on a newline followed by a tab, key and value on
 * the first `=`, newlines and tabs trimmed from both; a repeated key becomes a list.
 */
function splitKeyValueLines(text: string, into: Doc): void {
  for (const part of text.split('\n\t')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = trimChars(part.slice(0, eq));
    const value = trimChars(part.slice(eq + 1));
    if (key === '') continue;
    const cur = own(into, key);
    if (cur === undefined) setOwn(into, key, value);
    else if (Array.isArray(cur)) cur.push(value);
    else setOwn(into, key, [cur, value]);
  }
}

/** Trims newlines and tabs (the kv processor's trim_key / trim_value "\n\t"). */
function trimChars(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s[a] === '\n' || s[a] === '\t')) a++;
  while (b > a && (s[b - 1] === '\n' || s[b - 1] === '\t')) b--;
  return s.slice(a, b);
}

/**
 * Event 600's script: values may span lines and hold `=`, so everything between one `\tKey=` and
 * the next is the value (Java-trimmed).
 */
function splitProviderDetails(text: string, into: Doc): void {
  const keys = [...text.matchAll(/\t(\w+)=/g)];
  for (let i = 0; i < keys.length; i++) {
    const m = keys[i]!;
    const end = i + 1 < keys.length ? keys[i + 1]!.index : text.length;
    setOwn(into, m[1]!, text.slice(m.index + m[0].length, end).replace(/^[\x00-\x20]+|[\x00-\x20]+$/g, ''));
  }
}

/** Event 800's command invocation details, one object per line of param3. */
function invocationDetails(text: string): Doc[] {
  const out: Doc[] = [];
  const lines = text.split('\n');
  // The split processor (Java String.split) drops trailing empty strings.
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  for (const raw of lines) {
    const m = /^([^:(]+)\(([^)]+)\):\s*(.+)?$/.exec(raw);
    if (!m) {
      out.push({ value: raw });
      continue;
    }
    const [, type, related, value] = m;
    if (type !== 'ParameterBinding') {
      const d: Doc = { type, related_command: related };
      if (value !== undefined) d.value = value;
      out.push(d);
      continue;
    }
    const b = value !== undefined ? /^name=(.+);\s*value=(.+)$/.exec(value) : null;
    if (!b) out.push(value !== undefined ? { value } : {});
    else out.push({ type, related_command: related, name: b[1], value: b[2] });
  }
  return out;
}

const CLASSIC_RENAMES: ReadonlyArray<readonly [string, string[]]> = [
  ['NewEngineState', ['powershell', 'engine', 'new_state']],
  ['PreviousEngineState', ['powershell', 'engine', 'previous_state']],
  ['NewProviderState', ['powershell', 'provider', 'new_state']],
  ['ProviderName', ['powershell', 'provider', 'name']],
  ['EngineVersion', ['powershell', 'engine', 'version']],
  ['PipelineId', ['powershell', 'pipeline_id']],
  ['RunspaceId', ['powershell', 'runspace_id']],
  ['HostVersion', ['powershell', 'process', 'executable_version']],
  ['CommandLine', ['powershell', 'command', 'value']],
  ['CommandPath', ['powershell', 'command', 'path']],
  ['CommandName', ['powershell', 'command', 'name']],
  ['CommandType', ['powershell', 'command', 'type']],
];

/** Applies the "Windows PowerShell" (classic channel) mapping to a beat-stage document in place. */
export function mapWindowsPowerShell(doc: Doc): void {
  const winlog = child(doc, 'winlog');
  const event = child(doc, 'event');
  const code = String(winlog.event_id ?? event.code ?? '');
  const ed: Doc = obj(winlog.event_data) ?? {};
  // Windows writes these lines with CRLF; Winlogbeat reads the event as XML, whose parser turns
  // CRLF into LF, and the pipeline's patterns expect LF.
  for (const k of ['param1', 'param2', 'param3']) if (typeof ed[k] === 'string') ed[k] = (ed[k] as string).replace(/\r\n?/g, '\n');
  if (code === '800' && typeof ed.param2 === 'string') splitKeyValueLines(ed.param2, ed);
  else if (code === '600' && typeof ed.param3 === 'string') splitProviderDetails(ed.param3, ed);
  else if (code !== '600' && code !== '800' && typeof ed.param3 === 'string') splitKeyValueLines(ed.param3, ed);

  if (typeof winlog.level === 'string' && winlog.level !== '') child(doc, 'log').level = winlog.level;
  event.kind = 'event';
  event.code = code;
  event.category = 'process';
  event.type = code === '400' ? 'start' : code === '403' ? 'end' : 'info';
  const seq = toLong(ed.SequenceNumber);
  if (seq !== undefined) event.sequence = seq;

  const process: Doc = obj(doc.process) ?? {};
  renameInto(ed, 'HostId', process, 'entity_id');
  renameInto(ed, 'HostApplication', process, 'command_line');
  renameInto(ed, 'HostName', process, 'title');

  const u = typeof ed.UserId === 'string' ? ed.UserId.split('\\') : undefined;
  if (u && u.length === 2) {
    const user = child(doc, 'user');
    if (u[0] !== '') user.domain = u[0];
    if (u[1] !== '') user.name = u[1];
    if (typeof user.name === 'string') appendUnique(child(doc, 'related'), 'user', user.name);
  }

  for (const [key, path] of CLASSIC_RENAMES) {
    const v = ed[key];
    if (v === undefined || v === '') continue;
    let o = doc;
    for (let i = 0; i < path.length - 1; i++) o = child(o, path[i]!);
    const last = path[path.length - 1]!;
    if (o[last] !== undefined) continue; // rename never overwrites
    o[last] = v;
    delete ed[key];
  }
  const total = toLong(ed.DetailTotal);
  if (total !== undefined) child(doc, 'powershell').total = total;
  const sequence = toLong(ed.DetailSequence);
  if (sequence !== undefined) child(doc, 'powershell').sequence = sequence;
  if (code === '800' && typeof ed.param3 === 'string') {
    const details = invocationDetails(ed.param3);
    if (details.length > 0) child(child(doc, 'powershell'), 'command').invocation_details = details;
  }

  if (typeof process.command_line === 'string' && process.command_line !== '') {
    process.args = splitCommandLineWindows(process.command_line);
    process.args_count = (process.args as string[]).length;
  }
  if (typeof ed.ScriptName === 'string' && ed.ScriptName.length > 1) setFileParts(child(doc, 'file'), ed.ScriptName);
  if (typeof ed.ScriptName === 'string' && ed.ScriptName !== '') renameInto(ed, 'ScriptName', child(doc, 'file'), 'path');

  for (const k of ['param1', 'param2', 'param3', 'SequenceNumber', 'DetailTotal', 'DetailSequence', 'UserId']) delete ed[k];
  delete winlog.time_created;
  delete winlog.level;
  for (const [k, v] of Object.entries(ed)) if (v === null || v === '') delete ed[k];
  if (Object.keys(ed).length > 0) winlog.event_data = ed;
  else delete winlog.event_data;
  if (Object.keys(process).length > 0) doc.process = process;
}

function renameInto(from: Doc, key: string, to: Doc, target: string): void {
  const v = from[key];
  if (v === undefined || v === null || v === '' || to[target] !== undefined) return;
  to[target] = v;
  delete from[key];
}
